"""Hit rate@5 of the "bought together" recommender against the popularity baseline.

    .venv/bin/python -m bench.recommend.run [--customers 5000] [--seed 7]

Purchase histories come from a deterministic generator with the structure real shops have: products
in categories with a long-tailed popularity inside each, complementary products (a tent, then its
pegs), and customers whose tastes lean to one to three categories. Each customer's last purchase is
held out; every method sees only the purchases before it, for every customer, and is scored on
whether the held-out product is in its top 5. The held-out product is never one they already bought.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter, defaultdict

from crm.personalization.recommend import PurchaseIndex, bought_together, popular_baseline

# category -> products; the first few of each list are the complements named in COMPLEMENTS.
CATALOGUE: dict[str, list[str]] = {
    "camping": ["tent", "tent pegs", "sleeping bag", "sleeping mat", "camp stove", "gas canister", "head torch",
                "batteries", "cool box", "camping chair", "lantern", "water filter"],
    "running": ["running shoes", "running socks", "gps watch", "heart rate strap", "running jacket", "running gloves",
                "water bottle", "energy gels", "armband", "running cap", "compression tights", "foam roller"],
    "kitchen": ["coffee maker", "coffee filters", "knife set", "knife sharpener", "blender", "smoothie cups",
                "cast iron pan", "pan scraper", "stand mixer", "mixing bowls", "kettle", "descaler"],
    "garden": ["lawn mower", "grass box", "hose", "hose reel", "pruning shears", "garden gloves", "seed tray",
               "compost", "watering can", "bird feeder", "bird seed", "trowel"],
    "baby": ["pram", "rain cover", "baby monitor", "monitor batteries", "bottle set", "bottle brush", "cot",
             "cot sheets", "high chair", "bibs", "changing mat", "nappy bin"],
    "office": ["laptop stand", "wireless keyboard", "desk lamp", "led bulb", "notebook", "fountain pen", "ink",
               "monitor arm", "webcam", "headset", "desk mat", "cable tidy"],
    "pets": ["dog bed", "dog blanket", "cat tree", "cat toys", "dog lead", "dog harness", "aquarium", "fish food",
             "pet carrier", "water fountain", "dog shampoo", "poop bags"],
    "audio": ["headphones", "headphone case", "turntable", "record cleaner", "speaker", "speaker stand",
              "earbuds", "ear tips", "microphone", "pop filter", "dac", "audio cable"],
}  # fmt: skip
# Pairs: each listed product's first complement is the next one in its list (tent -> tent pegs ...).
COMPLEMENT_PAIRS_PER_CATEGORY = 4
CROSS_COMPLEMENTS = [("running shoes", "foam roller"), ("tent", "head torch"), ("gps watch", "earbuds"),
                     ("webcam", "headset"), ("coffee maker", "descaler"), ("dog lead", "poop bags")]  # fmt: skip
CATEGORY_GROUPS = {"outdoor": ("camping", "running", "garden"), "home": ("kitchen", "office", "audio"),
                   "family": ("baby", "pets")}  # fmt: skip
COMPLEMENT_PROBABILITY = 0.45  # chance that a purchase completes an earlier one
EXPLORE_PROBABILITY = 0.1  # chance that a purchase comes from outside their tastes
ZIPF = 1.1


def sku(name: str) -> str:
    return name.upper().replace(" ", "-")


def complements() -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = defaultdict(list)
    for products in CATALOGUE.values():
        for n in range(COMPLEMENT_PAIRS_PER_CATEGORY):
            pairs[sku(products[2 * n])].append(sku(products[2 * n + 1]))
    for a, b in CROSS_COMPLEMENTS:
        pairs[sku(a)].append(sku(b))
    return pairs


def popularity(rng: random.Random) -> dict[str, tuple[list[str], list[float]]]:
    """category -> (skus, Zipf weights) with a shuffled popularity order, so complements are not all on top."""
    out = {}
    for category, products in CATALOGUE.items():
        skus = [sku(p) for p in products]
        rng.shuffle(skus)
        out[category] = (skus, [1 / (rank + 1) ** ZIPF for rank in range(len(skus))])
    return out


def customer_sequence(rng: random.Random, weights, pairs) -> tuple[list[str], list[str], bool]:
    """(distinct skus in purchase order, favourite categories, whether the last completed an earlier one)."""
    categories = list(CATALOGUE)
    tastes = rng.sample(categories, rng.choice((1, 1, 2, 2, 3)))
    taste_weights = [rng.uniform(0.5, 1.5) for _ in tastes]
    count = min(15, 2 + int(rng.expovariate(0.3)))
    bought: list[str] = []
    completed = False
    for _ in range(count * 3):  # a few retries, since a product is bought at most once
        if len(bought) >= count:
            break
        pending = [c for b in reversed(bought) for c in pairs.get(b, ()) if c not in bought]
        complement = bool(pending) and rng.random() < COMPLEMENT_PROBABILITY
        if complement:
            choice = pending[0]
        else:
            explore = rng.random() < EXPLORE_PROBABILITY
            category = rng.choice(categories) if explore else rng.choices(tastes, taste_weights)[0]
            skus, zipf = weights[category]
            choice = rng.choices(skus, zipf)[0]
        if choice not in bought:
            bought.append(choice)
            completed = complement
    return bought, tastes, completed


def generate(customers: int, seed: int) -> tuple[dict[int, list[str]], dict[int, tuple[str, ...]], set[int]]:
    """Purchase sequences, segments, and who ended on a complement, the same for the same seed."""
    rng = random.Random(seed)
    weights, pairs = popularity(rng), complements()
    sequences, segments, ended_on_complement = {}, {}, set()
    for customer in range(customers):
        bought, tastes, completed = customer_sequence(rng, weights, pairs)
        sequences[customer] = bought
        if completed:
            ended_on_complement.add(customer)
        group = next(name for name, members in CATEGORY_GROUPS.items() if tastes[0] in members)
        # Segments as marketers build them: a behavioural group, a size tier, and one that means nothing.
        segments[customer] = (group, "VIP" if len(bought) >= 8 else "regular", rng.choice(("north", "south")))
    return sequences, segments, ended_on_complement


def segment_popularity(train: dict[int, list[str]], segments: dict[int, tuple[str, ...]]) -> dict[str, list[str]]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for customer, skus in train.items():
        for segment in segments[customer]:
            counts[segment].update(skus)
    return {segment: [s for s, _ in sorted(c.items(), key=lambda i: (-i[1], i[0]))] for segment, c in counts.items()}


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a hit rate."""
    if not n:
        return 0.0, 0.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _methods(index, by_segment, popular, k):
    """name -> a function (owned skus, segments) -> top-k skus."""

    def together(method, min_support=2, first_segment_only=False):
        def recommend(owned, segments):
            segments = segments[:1] if first_segment_only else segments
            picks = bought_together(index, owned, segments=segments, segment_popular=by_segment, popular=popular,
                                    limit=k, method=method, min_support=min_support)  # fmt: skip
            return [p["sku"] for p in picks]

        return recommend

    return {
        "bought together (cosine)": together("cosine"),
        "bought together (jaccard)": together("jaccard"),
        "bought together (lift)": together("lift"),
        # No pair ever reaches this support, so only the segment and overall fallbacks answer.
        "popular in their segment": together("cosine", min_support=10**9, first_segment_only=True),
        "popularity baseline": lambda owned, _: popular_baseline(index, owned, k),
    }


def evaluate(customers: int, seed: int, k: int = 5) -> tuple[dict[str, Counter], Counter]:
    """Hits per method, split by what the held-out purchase was ("complement" or "taste"), and the counts."""
    sequences, segments, ended_on_complement = generate(customers, seed)
    held_out = {c: s[-1] for c, s in sequences.items() if len(s) >= 2}
    train = {c: s[:-1] if c in held_out else s for c, s in sequences.items()}
    index = PurchaseIndex.from_history({c: set(s) for c, s in train.items()})
    methods = _methods(index, segment_popularity(train, segments), index.popular(), k)
    hits: dict[str, Counter] = {name: Counter() for name in methods}
    evaluated: Counter = Counter()
    for customer, target in held_out.items():
        kind = "complement" if customer in ended_on_complement else "taste"
        evaluated[kind] += 1
        owned = set(train[customer])
        for name, recommend in methods.items():
            hits[name][kind] += target in recommend(owned, segments[customer])
    return hits, evaluated


def _rate(hits: int, total: int) -> str:
    low, high = wilson(hits, total)
    return f"{hits / total:.3f} ({low:.3f}-{high:.3f})" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    hits, evaluated = evaluate(args.customers, args.seed)
    elapsed = time.perf_counter() - started
    n = sum(evaluated.values())
    products = sum(len(p) for p in CATALOGUE.values())
    print(f"customers {args.customers} (evaluated {n}), products {products}, seed {args.seed}, {elapsed:.1f} s")
    print("hit rate@5 on the held-out last purchase, with its 95% interval; then split by what that purchase was")
    header = f"complement (n={evaluated['complement']})", f"taste (n={evaluated['taste']})"
    print(f"{'method':28} {'all':>22} {header[0]:>22} {header[1]:>22}")
    for name, counts in sorted(hits.items(), key=lambda item: -sum(item[1].values())):
        row = [_rate(sum(counts.values()), n), _rate(counts["complement"], evaluated["complement"])]
        row.append(_rate(counts["taste"], evaluated["taste"]))
        print(f"{name:28} {row[0]:>22} {row[1]:>22} {row[2]:>22}")
    recommender, baseline = sum(hits["bought together (cosine)"].values()), sum(hits["popularity baseline"].values())
    verdict = "beats" if recommender > baseline else "does NOT beat"
    print(f"recommender (cosine) {verdict} the popularity baseline: {recommender} vs {baseline} hits of {n}")


if __name__ == "__main__":
    main()
