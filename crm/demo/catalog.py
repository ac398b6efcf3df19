"""The demo shop: products with categories and the pairs people buy together."""

from __future__ import annotations

PRODUCTS = [
    # sku, name, category, price
    ("TRL-SHOE-01", "Trail running shoes", "footwear", "119.00"),
    ("RD-SHOE-02", "Road running shoes", "footwear", "99.00"),
    ("HK-BOOT-03", "Hiking boots", "footwear", "149.00"),
    ("SOCK-MER-04", "Merino running socks", "accessories", "14.00"),
    ("INSOLE-05", "Cushioned insoles", "accessories", "24.00"),
    ("JKT-RAIN-06", "Rain jacket", "apparel", "129.00"),
    ("JKT-DOWN-07", "Down jacket", "apparel", "189.00"),
    ("TEE-TECH-08", "Technical tee", "apparel", "29.00"),
    ("TGT-RUN-09", "Running tights", "apparel", "49.00"),
    ("CAP-RUN-10", "Running cap", "accessories", "19.00"),
    ("BTL-HYD-11", "Hydration bottle", "hydration", "12.00"),
    ("VST-HYD-12", "Hydration vest", "hydration", "79.00"),
    ("GEL-ENR-13", "Energy gels (12)", "nutrition", "21.00"),
    ("BAR-PRO-14", "Protein bars (10)", "nutrition", "18.00"),
    ("WTC-GPS-15", "GPS watch", "electronics", "249.00"),
    ("HRM-STR-16", "Heart-rate strap", "electronics", "59.00"),
    ("EAR-SPT-17", "Sport earbuds", "electronics", "89.00"),
    ("PCK-DAY-18", "Day pack 20 L", "bags", "69.00"),
    ("PCK-TRK-19", "Trekking pack 45 L", "bags", "159.00"),
    ("POLE-TRK-20", "Trekking poles", "accessories", "65.00"),
    ("LMP-HEAD-21", "Head lamp", "electronics", "39.00"),
    ("TNT-2P-22", "Two-person tent", "camping", "299.00"),
    ("BAG-SLP-23", "Sleeping bag", "camping", "139.00"),
    ("MAT-SLP-24", "Sleeping mat", "camping", "59.00"),
]

# Complementary products: buying the first makes the second likely.
PAIRS = [
    ("TRL-SHOE-01", "SOCK-MER-04"),
    ("RD-SHOE-02", "SOCK-MER-04"),
    ("RD-SHOE-02", "INSOLE-05"),
    ("HK-BOOT-03", "POLE-TRK-20"),
    ("HK-BOOT-03", "PCK-TRK-19"),
    ("JKT-RAIN-06", "PCK-DAY-18"),
    ("TEE-TECH-08", "TGT-RUN-09"),
    ("TGT-RUN-09", "CAP-RUN-10"),
    ("VST-HYD-12", "GEL-ENR-13"),
    ("BTL-HYD-11", "BAR-PRO-14"),
    ("WTC-GPS-15", "HRM-STR-16"),
    ("EAR-SPT-17", "WTC-GPS-15"),
    ("TNT-2P-22", "BAG-SLP-23"),
    ("BAG-SLP-23", "MAT-SLP-24"),
    ("LMP-HEAD-21", "TNT-2P-22"),
]

STORES = [("store-soho", "SoHo flagship"), ("store-bk", "Brooklyn"), ("store-sf", "San Francisco")]
