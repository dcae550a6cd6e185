"""``aeroops prune FOLDER --keep-daily 7 --keep-weekly 4 ...``: remove archives by a retention
policy (`aeroops.core.retention`), by restic 0.18's ``forget`` rules.

A dry run unless --yes: the table of every file with keep or remove and the rules behind it.
Every archive is verified first (a damaged one never counts toward a keep), unless --no-verify.
Exit 0; 1 when a dry run would remove the last good copy of a snapshot (each is named on
stderr) or --yes would be refused (a folder the user cannot remove from); 2 for an error (bad
policy, the folder held by a backup or another prune, a removal that failed).
"""

from __future__ import annotations

import argparse
import json
import sys

from aeroops.cli.arguments import add_folder_arguments, add_identity_arguments, add_output_arguments
from aeroops.core.retention import (
    COUNT_RULES,
    DURATION_RULES,
    PERIOD_RULES,
    WITHIN_PERIOD_RULES,
    Policy,
    Rule,
    parse_count,
    parse_duration,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Keep the archives any --keep-* rule keeps (restic 0.16-0.18's forget rules), remove the rest. "
        "The newest archive that verifies clean is always kept; an archive that does not verify clean "
        "counts toward no rule and is left alone unless --remove-damaged."
    )
    add_folder_arguments(parser)
    parser.add_argument(
        "--keep-last", type=parse_count, default=0, metavar="N", help="the N newest archives (N: a count or unlimited)"
    )
    for rule in PERIOD_RULES:
        parser.add_argument(
            f"--keep-{rule.value}",
            type=parse_count,
            default=0,
            metavar="N",
            help=f"the newest archive of each of the N most recent {_PERIOD_NAMES[rule]} that have one "
            "(N: a count or unlimited; the oldest archive too while N is not used up)",
        )
    parser.add_argument(
        "--keep-within",
        type=parse_duration,
        metavar="DURATION",
        help="every archive made within DURATION (e.g. 36h, 7d, 1y6m) of the newest one (strictly newer)",
    )
    for rule in WITHIN_PERIOD_RULES:
        period = rule.value.split()[0]
        parser.add_argument(
            f"--keep-within-{period}",
            type=parse_duration,
            metavar="DURATION",
            help=f"the newest archive of each of the {_PERIOD_NAMES[PERIOD_RULES[WITHIN_PERIOD_RULES.index(rule)]]} "
            "with an archive made within DURATION of the newest one",
        )
    parser.add_argument("--time-zone", metavar="ZONE", help="calendar periods in this IANA zone (default: UTC)")
    parser.add_argument("--remove-damaged", action="store_true", help="also remove archives that do not verify clean")
    parser.add_argument("--yes", action="store_true", help="remove (default: a dry run that removes nothing)")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="trust the inventory: do not verify the archives first (unverified ones count toward keeps)",
    )
    add_identity_arguments(parser)
    add_output_arguments(parser, formats=True)
    parser.set_defaults(run=run)


_PERIOD_NAMES = {
    Rule.HOURLY: "hours",
    Rule.DAILY: "days",
    Rule.WEEKLY: "ISO weeks (Monday to Sunday)",
    Rule.MONTHLY: "months",
    Rule.YEARLY: "years",
}


def policy_from_args(args: argparse.Namespace) -> Policy:
    return Policy(
        **{rule.option: getattr(args, f"keep_{rule.option}") for rule in (*COUNT_RULES, *DURATION_RULES)},
        time_zone=args.time_zone,
        remove_damaged=args.remove_damaged,
    )


def run(args: argparse.Namespace) -> int:
    from aeroops.cli.messages import error_text
    from aeroops.errors import Code, Finding
    from aeroops.executor.fileops import REAL
    from aeroops.executor.prune import prune
    from aeroops.views import records, text
    from aeroops.views.progress import terminal_progress
    from aeroops.views.serialise import prune_json

    policy = policy_from_args(args)
    with terminal_progress(not args.no_progress) as progress:
        result = prune(
            args.folder,
            policy,
            yes=args.yes,
            verify=not args.no_verify,
            recursive=args.recursive,
            progress=progress,
            identities=args.identities,
            ops=REAL,
        )
    if args.format == "json":
        print(json.dumps(prune_json(result), indent=2))
    elif args.format == "csv":
        text.write_csv(sys.stdout, records.retention_records(result.plan), records.RETENTION_COLUMNS)
    else:
        print(text.render_retention(result.plan, dry_run=result.dry_run))
        if result.segments:
            from aeroops.views.pitr import render_segment_retention

            print(render_segment_retention(result.segments, dry_run=result.dry_run))
    if result.dry_run:
        last_copies = result.plan.last_copies()
        for copy in last_copies:
            print(
                error_text(str(Finding.of(Code.PRUNE_LAST_COPY, str(copy), path=copy.decision.file))), file=sys.stderr
            )
        if result.refusal is not None:
            refused = Finding.of(Code.PRUNE_FAILED, f"--yes would be refused: {result.refusal}")
            print(error_text(str(refused)), file=sys.stderr)
        return 1 if last_copies or result.refusal is not None else 0
    return 0
