"""The `xinan` console command: Django's manage.py under a friendlier name.

`xinan serve`, `xinan demo`, `xinan createadmin`, `xinan scales`, `xinan score` and every other
management command are subcommands.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xinan.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["xinan", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    main()
