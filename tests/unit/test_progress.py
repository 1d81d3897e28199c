"""``streams.progress``: when everything on the input topics at a mark has been processed and read back from the
directory, the group has caught up to that mark's time."""

from __future__ import annotations

from wayfinder.streams.progress import MAX_MARKS, CatchUp

A, B = ("wayfinder.hris.events", 0), ("wayfinder.hris.events", 1)


def test_a_mark_is_reached_once_the_inputs_are_processed_to_it_and_the_directory_is_read_to_its_ends() -> None:
    c = CatchUp()
    assert c.observe(100.0, {A: 10, B: 5}, {A: 3, B: 5}, {0: 7}, {0: 7}) == 0.0  # the first mark, at 100
    assert c.observe(102.0, {A: 12, B: 5}, {A: 9, B: 5}, {0: 8}, {0: 8}) == 0.0  # A not at 10 yet
    # A processed to 10: the mark's directory ends are taken now (9), and this worker has read only 8 of them
    assert c.observe(104.0, {A: 12, B: 6}, {A: 10, B: 5}, {0: 9}, {0: 8}) == 0.0
    assert c.observe(106.0, {A: 12, B: 6}, {A: 10, B: 5}, {0: 11}, {0: 9}) == 100.0  # read to 9: mark 100 reached
    # the marks of 102, 104 and 106 need A at 12 and B at 6; once there (and read), the latest reached counts
    assert c.observe(108.0, {A: 12, B: 6}, {A: 12, B: 6}, {0: 11}, {0: 11}) == 106.0
    assert c.observe(110.0, {A: 12, B: 6}, {A: 12, B: 6}, {0: 11}, {0: 11}) == 108.0


def test_a_partition_never_committed_counts_from_its_first_offset_and_an_empty_one_is_processed() -> None:
    c = CatchUp()
    c.observe(100.0, {A: 0, B: 4}, {A: 0, B: 4}, {}, {})
    assert c.observe(101.0, {A: 0, B: 4}, {A: 0, B: 4}, {}, {}) == 100.0


def test_progress_never_goes_back_and_the_marks_on_their_way_are_bounded() -> None:
    c = CatchUp()
    for i in range(200):
        c.observe(float(i), {A: 10}, {A: 0}, {0: 0}, {0: 0})  # a stalled group: no mark is reached
    assert len(c.marks) == MAX_MARKS
    assert c.observe(300.0, {A: 10}, {A: 10}, {0: 0}, {0: 0}) == 199.0  # the latest of the marks kept
    assert [m.at for m in c.marks] == [300.0]
    assert c.observe(301.0, {A: 10}, {A: 5}, {0: 0}, {0: 0}) == 199.0  # a reading that went back changes nothing
    assert c.observe(302.0, {A: 10}, {A: 10}, {0: 0}, {0: 0}) == 301.0


def test_what_the_oldest_mark_waits_for_is_the_inputs_then_the_directory() -> None:
    c = CatchUp()
    assert c.waiting_for() == []
    c.observe(100.0, {A: 10, B: 5}, {A: 3, B: 5}, {0: 7}, {0: 7})
    assert c.waiting_for() == ["wayfinder.hris.events[0] processed to 3 of 10"]
    c.observe(102.0, {A: 12, B: 5}, {A: 10, B: 5}, {0: 9, 1: 4}, {0: 8, 1: 4})  # mark 100's directory ends: 9, 4
    assert c.waiting_for() == ["directory[0] read to 8 of 9"]
    c.observe(104.0, {A: 12, B: 5}, {A: 12, B: 5}, {0: 9, 1: 4}, {0: 9, 1: 4})  # marks 100 and 102 reached
    assert c.caught_up == 102.0
    assert c.waiting_for() == []  # mark 104: its inputs are processed; its directory ends come with the next reading
