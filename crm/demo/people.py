"""Demo people and what they say: deterministic from a seed."""

from __future__ import annotations

FIRST = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Ella",
    "Finn",
    "Grace",
    "Henry",
    "Isla",
    "Jack",
    "Kate",
    "Liam",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Ruby",
    "Sam",
    "Tara",
    "Uma",
    "Victor",
    "Willa",
    "Xavier",
    "Yara",
    "Zoe",
    "Amélie",
    "José",
    "Zoë",
    "Björn",
    "Chen",
    "Priya",
    "Omar",
    "Sofia",
    "Mateo",
    "Hana",
    "Lucas",
    "Nora",
]
LAST = [
    "Anderson",
    "Brown",
    "Clark",
    "Davis",
    "Evans",
    "Fischer",
    "García",
    "Harris",
    "Ito",
    "Johnson",
    "Khan",
    "Lopez",
    "Martin",
    "Nguyen",
    "O'Brien",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Taylor",
    "Úlfsson",
    "Vargas",
    "Walker",
    "Xu",
    "Young",
    "Zimmermann",
    "Müller",
    "Kowalski",
    "Dubois",
    "Okafor",
]
CITIES = [
    ("New York", "10012", "NY", "US"),
    ("Brooklyn", "11211", "NY", "US"),
    ("San Francisco", "94110", "CA", "US"),
    ("Oakland", "94607", "CA", "US"),
    ("Boston", "02116", "MA", "US"),
    ("Seattle", "98101", "WA", "US"),
]
AREA = ["212", "718", "415", "510", "617", "206", "646", "917"]

COMPLAINTS = [
    (
        "Where is my order?",
        "My order still has not arrived and the tracking has not moved in a week. This is really frustrating.",
    ),
    (
        "Refund not received",
        "I returned the jacket three weeks ago and I still have not received my refund. Terrible service.",
    ),
    (
        "Wrong size delivered",
        "I ordered a size 10 and received a size 8. Please help, I need them for a race on Sunday.",
    ),
    ("Charged twice", "I was charged twice for the same order. Please fix this billing mistake as soon as possible."),
    ("Cannot log in", "I cannot log in to my account, the password reset email never arrives."),
    ("Broken zipper", "The zipper on my new pack broke after two days. Disappointed with the quality."),
]
QUESTIONS = [
    ("Question about the GPS watch", "Does the GPS watch work with a heart-rate strap? Thinking of buying one."),
    ("Tent for two?", "Is the two-person tent good for winter camping? Considering it for a trip."),
    ("Trail shoes sizing", "Do the trail running shoes run small? I usually wear a 9."),
    ("Store opening hours", "What time does the SoHo store open on Sundays?"),
]
PRAISE = [
    "Thanks so much, that was quick and helpful!",
    "Great service, the new shoes are perfect. Love them.",
    "Thank you, problem solved. Really appreciate it.",
]
AGENT_REPLIES = [
    "Thanks for reaching out. I have looked into this and will get back to you within a day.",
    "Sorry about this. I have escalated it to our logistics team.",
    "Thanks for your patience — your refund has been issued and should arrive in 3-5 days.",
]
SURVEY_COMMENTS = {
    "good": ["Fast delivery and friendly staff.", "Great products, will buy again.", "Very helpful support."],
    "bad": ["Support took forever to answer.", "Delivery was late and nobody told me.", "Product broke quickly."],
}
