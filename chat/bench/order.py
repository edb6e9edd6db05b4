"""Did every page receive every message once, all pages in one order, and is it the store's?"""

import json
import urllib.request
from array import array
from collections import Counter
from itertools import pairwise
from typing import Any


def stored_ids(page_url: str) -> list[int] | None:
    """The ids of the room's recent messages, oldest first, as the server that served
    `page_url` lists them (`messages.json`); None if it has no such list."""
    try:
        with urllib.request.urlopen(f"{page_url}/messages.json", timeout=30) as response:  # noqa: S310
            return [int(m["id"]) for m in json.load(response)["messages"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def figures(
    ids: "list[array[int]]", seqs: "list[array[int]]", sent: int, stored: list[list[int] | None]
) -> dict[str, Any]:
    """`ids`/`seqs`: per page, what it received in order; `sent`: messages 1..sent were sent;
    `stored`: each server's list of the room's recent ids (None: the server has none)."""
    if not any(any(page) for page in ids):
        return {}  # the server does not number messages (an echo): no order to check
    expected = set(range(1, sent + 1))
    complete = duplicates = 0
    lacking: set[int] = set()
    for page in seqs:
        heard = set(page)
        complete += len(page) == sent and heard == expected
        duplicates += len(page) - len(heard)
        lacking |= expected - heard
    orders = Counter(page.tobytes() for page in ids)
    (most_common, agreeing), *_ = orders.most_common(1)
    common = array("q", most_common).tolist()
    increasing = all(a < b for a, b in pairwise(common))
    store = _store_agrees(common, stored)
    one = complete == len(ids) and len(orders) == 1 and increasing and store is not False
    return {
        "one_order": one,
        "pages_complete": complete,
        "duplicates": duplicates,
        "lacking": sorted(lacking)[:10],  # the first messages that some page never received
        "orders": len(orders),
        "pages_in_one_order": agreeing,
        "ids_increasing": increasing,
        "store_order": store,
    }


def _store_agrees(common: list[int], stored: list[list[int] | None]) -> bool | None:
    """Do the servers list the end of the pages' order, in that order? (None: no lists.)"""
    listed = [each for each in stored if each is not None]
    if not listed:
        return None
    ours = set(common)
    tails = [[i for i in each if i in ours] for each in listed]
    return all(bool(tail) and tail == common[-len(tail) :] for tail in tails)
