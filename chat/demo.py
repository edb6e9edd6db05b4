"""`chat demo`: friendly bots chatting at a human pace, so a lone visitor sees live updates."""

import asyncio
import random
from collections.abc import Callable

from chat.client import ChatClient, Event, Refused, Unreachable
from chat.terminal import Printer, quit_on_sigterm

BOTS = ["Ada", "Grace", "Alan", "Margaret", "Linus", "Barbara", "Dennis", "Frances"]
SMALL_TALK = [
    "Has anyone tried the no-JavaScript mode? Same form, plain POST.",
    "Every message here is rendered once on the server and pushed to all of us.",
    "Reload the page and your numbering starts again at 1.",
    "I like that the list never reloads.",
    "Try opening this room in a second tab.",
    "Coffee break in five minutes, anyone?",
    "Out-of-band swaps are underrated.",
    "Rooms are created on first use: try /rooms/anything.",
    "You can pick a name in the box on the right.",
    "Did you know the server numbers each message per session?",
]
GREETINGS = {"hi", "hello", "hey", "hallo", "bonjour", "hola"}


class Bot:
    """One bot: small talk every `pace` seconds or so, and a reply when greeted.

    A greeting to the room is answered by one bot only (picked by the message id); a bot
    greeted by name answers itself.
    """

    def __init__(
        self,
        url: str,
        room: str,
        name: str,
        pace: float,
        turn: tuple[int, int],
        say: Callable[[str], None],
    ) -> None:
        self.name, self.pace, self.say = name, pace, say
        self.turn, self.bots = turn
        self.client = ChatClient(url, room, f"{name} (bot)", on_event=self.hear)
        self._replies: set[asyncio.Task[Event]] = set()

    async def run(self) -> None:
        connection = asyncio.create_task(self.client.run())
        try:
            await self.client.ready()
            self.say(f"{self.client.name} joined #{self.client.room}")
            while not connection.done():
                await asyncio.sleep(random.uniform(0.5, 1.5) * self.pace)
                await self.client.send(random.choice(SMALL_TALK))
            connection.result()
        finally:
            connection.cancel()

    def hear(self, event: Event) -> None:
        """Greet people who greet the room (not other bots, and not ourselves)."""
        if event["type"] != "message" or "(bot)" in event["author"]:
            return
        if event["author_key"] == self.client.key:
            return
        words = {w.strip(".,!?").casefold() for w in event["text"].split()}
        my_turn = event["id"] % self.bots == self.turn
        if (words & GREETINGS and my_turn) or self.name.casefold() in words:
            reply = asyncio.create_task(self.client.send(f"Hello {event['author']}!"))
            self._replies.add(reply)
            reply.add_done_callback(self._replies.discard)


async def run_bots(url: str, room: str, count: int, pace: float, printer: Printer) -> None:
    """Run `count` bots until cancelled, or until one of them cannot connect."""
    names = random.sample(BOTS, k=min(count, len(BOTS)))
    names += [f"Bot{n}" for n in range(len(names) + 1, count + 1)]
    bots = [
        asyncio.create_task(Bot(url, room, name, pace, (i, count), printer.status).run())
        for i, name in enumerate(names)
    ]
    try:
        done, _ = await asyncio.wait(bots, return_when=asyncio.FIRST_EXCEPTION)
        for bot in done:
            bot.result()
    finally:
        for bot in bots:
            bot.cancel()


def run_demo(url: str, room: str, count: int, pace: float, printer: Printer) -> int:
    """Run until Ctrl+C or SIGTERM; 1 if the server cannot be reached or refuses the bots."""
    quit_on_sigterm()
    try:
        asyncio.run(run_bots(url, room, count, pace, printer))
    except KeyboardInterrupt:
        printer.status("the bots said goodbye")
    except (Refused, Unreachable) as error:
        printer.error(str(error))
        return 1
    return 0
