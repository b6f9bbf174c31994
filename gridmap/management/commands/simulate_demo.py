"""``manage.py simulate_demo``: run the closed loop by itself on the demo district (演示模拟).

See gridmap/demo/simulator/. ``make run`` starts it beside the web server when
``GRIDMAP_DEMO_SIMULATOR`` is on (bin/stack turns it on for the demo; settings default off, so
a production deployment never fills itself with invented cases).
"""

import logging
import os
import signal
import time
from argparse import ArgumentTypeError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gridmap.demo.simulator.cast import CastError, cast_prepare
from gridmap.demo.simulator.client import Client
from gridmap.demo.simulator.engine import Engine
from gridmap.demo.simulator.scenario import Shares
from gridmap.demo.simulator.simulation import Simulation

log = logging.getLogger("gridmap.demo.simulator")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise ArgumentTypeError(f"a share lies between 0 and 1, not {text}")
    return value


class Command(BaseCommand):
    help = (
        "Run the demo district's closed loop by itself through the HTTP API: reports from "
        "cameras, patrols, the public and the hotline; filing, dispatch from the "
        "recommendation, teams driving there and working the case, verification, closure."
    )

    def add_arguments(self, parser):
        port = os.environ.get("GRIDMAP_WEB_PORT", "8000")
        parser.add_argument(
            "--url",
            default=f"http://127.0.0.1:{port}",
            help="the platform's address (default: %(default)s)",
        )
        parser.add_argument(
            "--rate",
            type=_positive(float),
            default=2.0,
            help="new reports per (simulated) minute (default: 2)",
        )
        parser.add_argument(
            "--speed",
            type=_positive(float),
            default=1.0,
            help="simulated seconds per real second (default: 1, real time)",
        )
        parser.add_argument(
            "--once", type=_positive(int), metavar="N", help="run N cases to their end, then exit"
        )
        parser.add_argument(
            "--duration",
            type=_positive(float),
            metavar="SECONDS",
            help="stop after this many real seconds",
        )
        parser.add_argument(
            "--max-open",
            type=_positive(int),
            default=40,
            help="new reports wait while this many simulated cases are open (default: 40)",
        )
        parser.add_argument("--seed", type=int, help="the story's seed (default: the time)")
        parser.add_argument(
            "--reject",
            type=_share,
            default=Shares.reject,
            help="share of reports not filed (default: %(default)s)",
        )
        parser.add_argument(
            "--rework",
            type=_share,
            default=Shares.rework,
            help="share of disposals failing verification (default: %(default)s)",
        )
        parser.add_argument(
            "--late",
            type=_share,
            default=Shares.late,
            help="share of slow teams, late on site (default: %(default)s)",
        )
        parser.add_argument(
            "--dispatch-wait",
            type=_positive(float),
            metavar="SECONDS",
            help="simulated seconds the dispatcher waits after a case is filed (default: "
            "8–40 s, drawn): a longer wait leaves a person on the console time to dispatch first",
        )

    def handle(self, *args, **options):
        if not settings.GRIDMAP_DEMO_SIMULATOR:
            raise CommandError(
                "The demo simulator is off: set GRIDMAP_DEMO_SIMULATOR=1 to let it invent cases "
                "on this platform (never on a production deployment)."
            )
        self._log_to_stdout(options["verbosity"])
        try:
            cast = cast_prepare()
        except CastError as exc:
            raise CommandError(str(exc)) from exc
        seed = options["seed"] if options["seed"] is not None else int(time.time())
        engine = Engine(speed=options["speed"])
        client = Client(options["url"])
        sim = Simulation(
            client=client,
            cast=cast,
            engine=engine,
            seed=seed,
            rate_per_min=options["rate"],
            shares=Shares(
                reject=options["reject"],
                rework=options["rework"],
                late=options["late"],
                dispatch_wait_s=options["dispatch_wait"],
            ),
            once=options["once"],
            max_open=options["max_open"],
        )
        log.info(
            "simulating on %s (seed %d, %.3g reports/min, speed x%g)",
            options["url"],
            seed,
            options["rate"],
            options["speed"],
        )
        sim.start()
        deadline = time.monotonic() + options["duration"] if options["duration"] else None
        previous = signal.signal(signal.SIGTERM, lambda *_: engine.stop())
        try:
            engine.run(
                until=lambda: (
                    sim.finished() or (deadline is not None and time.monotonic() > deadline)
                )
            )
        except KeyboardInterrupt:
            log.info("interrupted")
        finally:
            signal.signal(signal.SIGTERM, previous)
            engine.close()
            client.close()
        self.stdout.write(f"simulate_demo: {sim.tally.summary()}")
        self._check_once(sim, options["once"])

    def _check_once(self, sim: Simulation, once: int | None) -> None:
        if once is None:
            return
        failed = sim.tally.endings["failed"]
        if sim.tally.ended < once or failed:
            raise CommandError(
                f"{sim.tally.ended} of {once} cases reached their end, {failed} of them "
                "failed; the log above says why."
            )

    def _log_to_stdout(self, verbosity: int) -> None:
        handler = logging.StreamHandler(self.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.handlers = [handler]
        log.propagate = False
        log.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))
