"""One room read on one time zone's clocks against the same room read on two: what zones cost.

    python -m tests.bench.zones            print the figures
    python -m tests.bench.zones --write    also update the README table (zones markers)
    python -m tests.bench.zones --replot figures.json --write   the table from a saved --out

As tests/bench/languages.py (the same code, run for zones): one `chat serve` that counts its
renders (`tests.bench.counted`), and `chat bench` driving a fresh room, flat out and paced, with
every page asking for UTC (`--zones UTC`), then with the pages asking for UTC and Asia/Tokyo in
turn (`--zones UTC,Asia/Tokyo`), taking turns round after round; the medians count. The pages
ask for no language (the server's, one). Each run also says how often the `pushed` block was
rendered per message: once per zone present in the room (one variant each), never once per
reader. Not a test: nothing here passes or fails a build.
"""

import sys

from tests.bench.languages import Study, main

ZONES = Study("zones", "zone", {"one": ["UTC"], "two": ["UTC", "Asia/Tokyo"]}, "zone", "zones")

if __name__ == "__main__":
    sys.exit(main(ZONES, __doc__))
