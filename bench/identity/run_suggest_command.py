"""How long `flask identity suggest` takes for N customers, without waiting for N interactions to go
through the pipeline first: the generated profiles are written straight into the tables the pipeline
would have filled (a customer, its identifiers as the resolver normalises them, its attribute rows as
`crm.profiles.attributes.flatten` keys them, the interaction that carried them), then the command runs.

    .venv/bin/python -m bench.identity.run_suggest_command --persons 10000 --seed 2

The timing, phase by phase, against the raw reads of the same rows; and the precision and recall of
the suggestions the command leaves open (customer n is the generator's profile n). What the pipeline
suggests after each interaction is run_pipeline.py's job (the same data through the real pipeline).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from sqlalchemy import insert

from bench.identity.e2e_setup import BASE_TIME, bench_database, make_app, profile_item
from bench.identity.generate import make_profiles
from bench.identity.population import make_people
from bench.identity.run_pipeline import raw_reads, suggestion_figures


def load(profiles) -> int:
    """Customers, identifiers, attribute rows and interactions for the profiles, in bulk; returns customers."""
    from crm.channels.cli import create_source
    from crm.extensions import db
    from crm.profiles import attributes
    from crm.profiles.identifiers import extract_identifiers
    from crm.profiles.models import Customer, CustomerAttribute, Identifier, Interaction

    source = create_source("web", "email", "generic", "web-bench-secret-0123")
    rows = {Customer: [], Identifier: [], CustomerAttribute: [], Interaction: []}
    taken = set()
    for n, profile in enumerate(profiles, start=1):
        item = profile_item(n, profile)
        block = item["customer"]
        rows[Customer].append({"id": n, "status": "active", "created_at": BASE_TIME, "updated_at": BASE_TIME})
        found = extract_identifiers(
            block, source_slug="web", source_settings={}, default_region="US", strip_plus_tags=False
        )
        for ident in found:
            if ident["valid"] and (ident["kind"], ident["value"]) not in taken:
                taken.add((ident["kind"], ident["value"]))
                rows[Identifier].append(
                    {"customer_id": n, "kind": ident["kind"], "value": ident["value"], "raw": ident["raw"]}
                )
        for key, value in attributes.flatten(block).items():
            rows[CustomerAttribute].append(
                {"customer_id": n, "key": key, "origin": "channel", "value": value, "observed_at": BASE_TIME}
                | {"source_id": source.id, "interaction_id": n, "updated_at": BASE_TIME}
            )
        rows[Interaction].append(
            {"id": n, "source_id": source.id, "external_id": item["external_id"], "customer_id": n, "channel": "email"}
            | {"type": "message", "direction": "inbound", "occurred_at": BASE_TIME, "received_at": BASE_TIME}
            | {"processed_at": BASE_TIME, "customer_in": block, "identifiers": found, "data": {}, "process_attempts": 0}
        )
    for model, values in rows.items():
        for start in range(0, len(values), 5000):
            db.session.execute(insert(model), values[start : start + 5000])
    db.session.commit()
    return len(profiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    profiles = make_profiles(make_people(args.persons, args.seed), args.seed)
    with bench_database(args.sqlite) as url:
        app = make_app(url)
        with app.app_context():
            customers = load(profiles)
            raw_s = raw_reads()
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["identity", "suggest"])
        took = time.perf_counter() - started
        with app.app_context():
            fig = suggestion_figures(list(range(1, customers + 1)), [p.person_id for p in profiles])
    lines = [line.rpartition("]")[2].strip() for line in result.output.replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line.startswith("seconds") or " candidate pairs: " in line]
    print(f"\n{date.today()} seed {args.seed}: `flask identity suggest` over {customers} customers: {took:.1f} s")
    print("\n".join(f"  {line}" for line in lines))
    print(f"  raw reads of the same rows {raw_s:.2f} s (command/raw {took / raw_s:.0f}x)")
    print(
        f"  suggestions: {fig['suggested']} open, {fig['correct']} correct of {fig['true_pairs']} true pairs: "
        f"precision {fig['precision']:.4f} recall {fig['recall']:.4f}"
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)


if __name__ == "__main__":
    main()
