"""The service network: sites, professionals (talent database), teams, trainings."""
