from xinan.core.lib.suppression import (
    COMPLEMENTARY,
    PRIMARY,
    label,
    suppress_column,
    suppress_table,
)

P, C = PRIMARY, COMPLEMENTARY


def test_it_shows_a_column_without_small_cells():
    assert suppress_column([10, 0, 7], 17, 5) == ([None, None, None], None)


def test_it_hides_the_next_smallest_non_zero_cell_when_one_is_small():
    # Shown as 3? 12? 8 under a total of 23, the 3 would be 23 − 12 − 8.
    assert suppress_column([3, 12, 8, 0], 23, 5) == ([P, None, C, None], None)


def test_it_leaves_zeros_visible_and_skips_them_as_complements():
    assert suppress_column([0, 4, 0, 9], 13, 5) == ([None, P, None, C], None)


def test_it_needs_no_complement_for_two_small_cells_adding_up_to_the_threshold():
    assert suppress_column([2, 3, 20], 25, 5) == ([P, P, None], None)


def test_it_adds_a_complement_when_the_hidden_cells_add_up_to_less_than_the_threshold():
    # 1 and 1 under 12 − 10: both would be read as exactly 1.
    assert suppress_column([1, 1, 10], 12, 5) == ([P, P, C], None)


def test_it_hides_the_total_when_no_other_child_can_be_hidden():
    # One non-zero child is the total: hiding it alone is undone by the total.
    assert suppress_column([7, 0], 7, 5) == ([None, None], None)
    assert suppress_column([3, 0], 3, 5) == ([P, None], P)


def test_a_small_total_hides_itself_and_its_children():
    assert suppress_column([1, 2, 0], 3, 5) == ([P, P, None], P)


def test_a_total_hidden_upstream_hides_one_child_so_the_total_cannot_be_summed_back():
    assert suppress_column([6, 9, 0], 15, 5, total_hidden=True) == ([C, None, None], C)


def test_a_total_hidden_upstream_needs_nothing_more_when_a_child_is_small():
    assert suppress_column([2, 9], 11, 5, total_hidden=True) == ([P, None], C)


def test_not_applicable_cells_are_never_hidden():
    assert suppress_column([3, None, 8], 11, 5) == ([P, None, C], None)


def test_ties_take_the_first_row():
    assert suppress_column([2, 6, 6], 14, 5) == ([P, C, None], None)


def test_it_suppresses_each_column_of_a_table_on_its_own():
    table = suppress_table([[12, 3, 0], [20, 10, 2], [8, 8, 8]], [40, 21, 10], 5)
    assert table.rows == [[None, P, None], [None, None, P], [None, C, C]]
    assert table.total == [None, None, None]


def test_it_carries_hidden_totals_per_column():
    table = suppress_table([[12, 7], [20, 10]], [32, 17], 5, total_hidden=[False, True])
    assert table.rows == [[None, C], [None, None]]
    assert table.total == [None, C]


def test_it_labels_cells():
    assert label(7, None, 5) == "7"
    assert label(3, P, 5) == "<5"
    assert label(9, C, 5) == "*"
    assert label(None, None, 5) == "—"


def test_it_hides_a_sub_count_that_would_bound_a_hidden_count():
    # completed [6, 1] under 7: the 6 is hidden with the 1; positive 6 ≤ completed would
    # give it back, so positive 6 is hidden too, and positive then needs its own complement.
    table = suppress_table([[6, 6], [1, 0], [9, 2]], [16, 8], 5, nested=[(1, 0)])
    assert table.rows == [[C, C], [P, None], [None, P]]
    assert table.total == [None, None]


def test_a_nested_hidden_total_hides_the_sub_total():
    table = suppress_table([[3, 3], [0, 0]], [3, 3], 5, nested=[(1, 0)])
    assert table.total == [P, P]
    table = suppress_table(
        [[6, 6], [9, 0]], [15, 6], 5, total_hidden=[True, False], nested=[(1, 0)]
    )
    assert table.total == [C, C]
    assert table.rows == [[C, C], [None, None]]
