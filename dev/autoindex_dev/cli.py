"""``autoindex``: the management command (serve, invoke, migrate, refresh, compute, maintenance, create-admin, ...)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from autoindex.settings import ConfigurationError


def _find_template(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "template.yaml").is_file():
            return folder / "template.yaml"
    raise SystemExit("template.yaml not found here or above; pass --template")


def _local_pipeline(runner: Any, *, schedules: bool) -> Any:
    """Deliver events, queue messages (and schedules) in-process when EVENT_TRANSPORT=local."""
    from autoindex.events.transport import use_local_dispatcher
    from autoindex.settings import get_settings

    from autoindex_dev.dispatch import LocalDispatcher

    if get_settings().event_transport != "local":
        return None
    dispatcher = LocalDispatcher(runner)
    use_local_dispatcher(dispatcher)
    if schedules:
        dispatcher.start_schedules()
    return dispatcher


def _serve(args: argparse.Namespace) -> int:
    from autoindex_dev.runner import LOOPBACK, Runner, serve

    port = args.port if args.port is not None else int(os.environ.get("PORT", "3000"))
    if args.built:
        from autoindex_dev.cloud.check import serve as serve_built

        return serve_built(port)
    runner = Runner.from_file(_find_template(args.template))
    _local_pipeline(runner, schedules=True)
    server = serve(runner, port=port)
    routes = ", ".join(route.route_key for route in runner.template.routes)
    print(f"AutoIndex local API on http://{LOOPBACK}:{server.server_address[1]} ({routes})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        runner.close()
    return 0


def _sample_event(runner: Any, name: str) -> dict[str, Any]:
    from autoindex_dev.lambda_events import http_event, scheduled_event

    fn = runner.template.function(name)
    for event in fn.events.values():
        props = event.get("Properties") or {}
        if event.get("Type") == "HttpApi" and props.get("Path", "$default") != "$default":
            path = str(props["Path"]).replace("{proxy+}", "").replace("{", "").replace("}", "")
            method = str(props.get("Method", "GET")).upper()
            return http_event(method="GET" if method == "ANY" else method, path=path, route_key=f"{method} {path}")
        if event.get("Type") in ("Schedule", "ScheduleV2"):
            return scheduled_event(f"{fn.logical_id}-schedule")
    raise SystemExit(f"{name}: no HTTP or schedule event to build a sample from; pass --event FILE")


def _invoke(args: argparse.Namespace) -> int:
    from autoindex_dev.runner import Runner

    runner = Runner.from_file(_find_template(args.template))
    event = json.loads(Path(args.event).read_text()) if args.event else _sample_event(runner, args.function)
    result = runner.invoke(args.function, event)
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from autoindex.db.engine import write_engine
    from autoindex.migrations import migrate

    engine = write_engine()
    migrate.upgrade(engine, args.revision)
    print(
        f"database at revision {migrate.current_revision(engine)} ({engine.url.render_as_string(hide_password=True)})"
    )
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    import getpass

    from autoindex.db.uow import UnitOfWork
    from autoindex.errors import AppError
    from autoindex.identity import service as identity

    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    try:
        user = identity.create_admin(uow=UnitOfWork(), email=args.email, password=password)
    except AppError as exc:
        print(f"autoindex: {exc.detail}", file=sys.stderr)
        return 1
    print(f"admin {user.email} created (id {user.id})")
    return 0


def _progress(done: int, total: int, rows: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} batches, {rows} rows"


def _refresh(args: argparse.Namespace) -> int:
    import time

    from autoindex.db.uow import UnitOfWork
    from autoindex.market.models import DailyPrice, RefreshRun
    from autoindex.market.refresh import request_refresh
    from sqlalchemy import exists, select

    from autoindex_dev.runner import Runner

    if args.if_empty:
        with UnitOfWork(read_only=True) as uow:
            if uow.session.scalar(select(exists().where(DailyPrice.asset_id.is_not(None)))):
                print("prices already stored; skipping the initial refresh")
                return 0
    runner = Runner.from_file(_find_template(args.template))
    dispatcher = _local_pipeline(runner, schedules=False)
    ticket = request_refresh(uow=UnitOfWork(), trigger="cli", requested_by=None, idempotency_key=None, meta=None)
    run_id = ticket.run.id
    print(f"refresh run {run_id}{' (joined the active run)' if ticket.joined else ''}")
    if dispatcher is None:
        print("EVENT_TRANSPORT=aws: the ingest jobs in AWS do the work; follow it with GET /v1/admin/runs/{id}")
        return 0
    while True:
        with UnitOfWork(read_only=True) as uow:
            run = uow.session.get(RefreshRun, run_id)
            assert run is not None
            done, total, rows = run.batches_done + run.batches_failed, run.batches_total, run.rows_written
            finished, status, errors = run.finished_at is not None, run.status, dict(run.errors)
        sys.stdout.write(_progress(done, total, rows))
        sys.stdout.flush()
        if finished:
            break
        time.sleep(0.2)
    dispatcher.drain()
    dispatcher.close()
    print(f"\nrun {status}: {rows} rows written, {len(errors)} symbols with errors")
    for symbol, reason in sorted(errors.items())[:20]:
        print(f"  {symbol}: {reason}")
    return 0 if status in ("succeeded", "partial") else 1


def _openapi(args: argparse.Namespace) -> int:
    from autoindex_dev.openapi import render
    from autoindex_dev.template import load_template

    template_path = _find_template(args.template)
    text = render(load_template(template_path))
    target = args.output or template_path.parent / "functions" / "docs" / "openapi.json"
    if args.check:
        current = target.read_text() if target.is_file() else ""
        if current != text:
            print(f"{target} is out of date: run `autoindex openapi`", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


def _compute(args: argparse.Namespace) -> int:
    from autoindex.db.uow import UnitOfWork
    from autoindex.events.transport import use_local_dispatcher
    from autoindex.index.compute import run_compute

    from autoindex_dev.runner import Runner

    # With the local transport, IndexComputed (cache warming) is delivered in-process, as under `serve`.
    dispatcher = _local_pipeline(Runner.from_file(_find_template(args.template)), schedules=False)
    try:
        outcome = run_compute(uow=UnitOfWork(), trigger="cli")
    finally:
        if dispatcher is not None:
            dispatcher.drain(120)
            dispatcher.close()
            use_local_dispatcher(None)
    if outcome.status == "succeeded":
        print(
            f"compute {outcome.mode}: strategy version {outcome.strategy_version}, {outcome.days_added} days"
            f" written, data version {outcome.data_version} (as of {outcome.as_of})"
        )
    else:
        print(f"compute {outcome.status}: nothing new to compute for the active strategy version")
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    from autoindex.db.uow import UnitOfWork
    from autoindex.ops.maintenance import run_maintenance

    report = run_maintenance(uow=UnitOfWork())
    cutoffs = report.as_dict()["cutoffs"]
    print(f"maintenance: {report.total} rows deleted (one transaction, as of {report.now.isoformat()})")
    for table, count in report.deleted.items():
        # The batches go with their runs, so they share the runs' cutoff.
        cutoff = cutoffs["refresh_runs" if table == "refresh_batches" else table]
        print(f"  {table:<18} {count:>8}  dead before {cutoff}")
    return 0


def _share_counts(args: argparse.Namespace) -> int:
    from autoindex.db.uow import UnitOfWork
    from autoindex.market.edgar_client import EdgarError
    from autoindex.market.models import AssetShareCount
    from autoindex.market.share_counts import cache_from_settings, refresh_share_counts, source_from_settings
    from sqlalchemy import exists, select

    if args.if_empty:
        with UnitOfWork(read_only=True) as uow:
            if uow.session.scalar(select(exists().where(AssetShareCount.asset_id.is_not(None)))):
                print("share counts already stored; skipping")
                return 0

    try:
        source = source_from_settings()
        outcome = refresh_share_counts(source, cache=cache_from_settings())
    except (EdgarError, ValueError) as exc:
        print(f"share counts not refreshed (nothing stored): {exc}")
        return 1
    print(f"share counts from {source.name}: {outcome.with_counts} of {outcome.assets} stocks, {outcome.facts} facts")
    if outcome.resolved or outcome.unresolved:
        found = ", ".join(f"{s} -> {c}" for s, c in outcome.resolved.items()) or "none"
        missing = ", ".join(outcome.unresolved) or "none"
        print(f"CIKs from SEC's ticker map ({outcome.ticker_map}): {found}; still without a CIK: {missing}")
    return _compute(args)  # the caps' history may have changed: the next compute is a full one


def _fake_edgar(args: argparse.Namespace) -> int:
    from autoindex_dev.fake_edgar import run_fake_edgar

    run_fake_edgar(args.port)
    return 0


def _fake_twelvedata(args: argparse.Namespace) -> int:
    from autoindex_dev.fake_twelvedata.server import run_fake

    run_fake(args.port, args.credits_per_minute, args.credits_per_day, splits=args.split, dividends=args.dividend)
    return 0


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` opens with the same one line ``autoindex --help`` lists it with."""
    return sub.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.")


def build_parser() -> argparse.ArgumentParser:
    from autoindex import __version__

    parser = argparse.ArgumentParser(prog="autoindex", description="AutoIndex management command")
    parser.add_argument("--version", action="version", version=f"autoindex {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, "serve", "serve every HttpApi route of template.yaml on 127.0.0.1")
    p.add_argument("--port", type=int, default=None, help="port (default: $PORT or 3000)")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template (default: template.yaml here or in a folder above)",
    )
    p.add_argument(
        "--built",
        action="store_true",
        help="serve sam build's artefacts (.aws-sam/build) on Python 3.13, deployed into an emulated AWS (moto), "
        "as make cloud-check runs them; needs make template-check first, PostgreSQL and Redis",
    )
    p.set_defaults(run=_serve)

    p = _command(sub, "invoke", "invoke one function with an event file or a generated sample")
    p.add_argument("function", help="logical id (HealthFunction) or short name (health)")
    p.add_argument("--event", type=Path, default=None, help="JSON event file")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template (default: template.yaml here or in a folder above)",
    )
    p.set_defaults(run=_invoke)

    p = _command(sub, "migrate", "apply database migrations (Alembic) to the configured database")
    p.add_argument("--revision", default="head", help="the Alembic revision to reach (default: head)")
    p.set_defaults(run=_migrate)

    p = _command(sub, "refresh", "run a whole refresh in-process (local transport) with a progress bar")
    p.add_argument("--if-empty", action="store_true", help="only when no prices are stored yet (first run)")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template (default: template.yaml here or in a folder above)",
    )
    p.set_defaults(run=_refresh)

    p = _command(sub, "compute", "bring the index of the active strategy up to date (as the compute job)")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template (default: template.yaml here or in a folder above)",
    )
    p.set_defaults(run=_compute)

    p = _command(sub, "maintenance", "delete what the retention settings allow, now (as the weekly job)")
    p.set_defaults(run=_maintenance)

    p = _command(sub, "share-counts", "refresh share counts (SEC EDGAR or the demo's filings), then compute")
    p.add_argument("--template", type=Path, default=None, help="template.yaml (default: found from here)")
    p.add_argument("--if-empty", action="store_true", help="only when no share counts are stored yet (first run)")
    p.set_defaults(run=_share_counts)

    p = _command(sub, "fake-edgar", "serve a fake SEC EDGAR (companyfacts, ticker map) on 127.0.0.1")
    p.add_argument("--port", type=int, default=8766, help="port on 127.0.0.1 (default: 8766)")
    p.set_defaults(run=_fake_edgar)

    p = _command(sub, "fake-twelvedata", "serve a fake Twelve Data API on 127.0.0.1 for local experiments")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default: 8765)")
    p.add_argument("--credits-per-minute", type=int, default=8, help="API credits per minute (default: 8)")
    p.add_argument("--credits-per-day", type=int, default=800, help="API credits per day (default: 800)")
    p.add_argument(
        "--split",
        action="append",
        default=[],
        metavar="SYMBOL:YYYY-MM-DD:RATIO",
        help="a split the history shows (repeatable), e.g. NVDA:2024-06-10:10 for 10-for-1",
    )
    p.add_argument(
        "--dividend",
        action="append",
        default=[],
        metavar="SYMBOL:YYYY-MM-DD:AMOUNT",
        help="a cash distribution by ex-date (repeatable), e.g. TLT:2024-03-01:0.28; adjust=all back-adjusts for it",
    )
    p.set_defaults(run=_fake_twelvedata)

    p = _command(sub, "openapi", "write the merged OpenAPI document of every API function (docs function)")
    p.add_argument("--output", type=Path, default=None, help="where to write it (default: functions/docs/openapi.json)")
    p.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    p.add_argument(
        "--template",
        type=Path,
        default=None,
        help="the SAM template (default: template.yaml here or in a folder above)",
    )
    p.set_defaults(run=_openapi)

    p = _command(sub, "create-admin", "create an admin account in the configured database")
    p.add_argument("--email", required=True, help="the admin's e-mail address")
    p.add_argument("--password", default=None, help="omit to read it from stdin or a prompt (keeps it out of history)")
    p.set_defaults(run=_create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigurationError as exc:
        print(f"autoindex: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
