"""Common English nicknames, so duplicate scoring reads Bob Smith and Robert Smith as one first name.

Data only: formal name -> the short and familiar forms people give instead. A nickname may belong to
several formal names (Alex, Chris, Sam); `name_groups` answers with all of them, and two first names
are compatible when their groups meet.
"""

from __future__ import annotations

from functools import cache

NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "al", "sandy", "xander"),
    "alexandra": ("alex", "alexa", "sandra", "sandy", "lexi"),
    "alfred": ("al", "alf", "fred", "freddie"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "ant"),
    "barbara": ("barb", "babs", "barbie"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "cath", "kate", "katie", "cat"),
    "charles": ("charlie", "chuck", "chas", "chaz"),
    "charlotte": ("charlie", "lottie", "lotte"),
    "christine": ("chris", "chrissy", "tina"),
    "christopher": ("chris", "kit", "topher"),
    "cynthia": ("cindy",),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey"),
    "deborah": ("debbie", "deb", "debra"),
    "donald": ("don", "donnie"),
    "dorothy": ("dot", "dottie", "dolly"),
    "edward": ("ed", "eddie", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza", "libby", "betsy", "lisa"),
    "frances": ("fran", "frankie"),
    "francis": ("frank", "fran"),
    "frederick": ("fred", "freddie", "freddy"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("harry", "hank", "hal"),
    "isabella": ("bella", "izzy", "isabel"),
    "jacqueline": ("jackie", "jacqui"),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny", "nathan"),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "katherine": ("kate", "kathy", "katie", "kat", "kay", "kitty"),
    "kathleen": ("kathy", "kate", "kath"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "meg", "peggy", "marge", "madge", "greta"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mickey", "mikey"),
    "nathaniel": ("nate", "nathan", "nat"),
    "nicholas": ("nick", "nicky", "nico"),
    "pamela": ("pam",),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy", "rick"),
    "peter": ("pete",),
    "philip": ("phil", "pip"),
    "rebecca": ("becky", "becca", "bex"),
    "richard": ("rick", "rich", "dick", "ricky", "richie"),
    "robert": ("bob", "rob", "bobby", "robbie", "bert"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "sarah": ("sally", "sadie"),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "susan": ("sue", "susie", "suzy"),
    "theodore": ("ted", "teddy", "theo"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori", "vic"),
    "william": ("bill", "billy", "will", "willie", "liam"),
    "zachary": ("zach", "zack"),
}


@cache
def _index() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for formal, shorts in NICKNAMES.items():
        groups.setdefault(formal, set()).add(formal)
        for short in shorts:
            groups.setdefault(short, set()).add(formal)
    return {name: frozenset(formals) for name, formals in groups.items()}


def name_groups(first_name: str) -> frozenset[str]:
    """The formal names a folded, lower-case first name stands for; itself when it is not in the table."""
    return _index().get(first_name, frozenset((first_name,)))


def are_nicknames(a: str, b: str) -> bool:
    """Whether two different folded first names are one person's formal name and nickname (or two nicknames)."""
    return a != b and bool(name_groups(a) & name_groups(b))


def related_names(first_name: str) -> frozenset[str]:
    """Every formal and familiar form that shares a group with the name (Bob -> Robert, Rob, Bobby...)."""
    formals = name_groups(first_name)
    return frozenset(n for formal in formals for n in (formal, *NICKNAMES.get(formal, ())))


@cache
def known_first_names() -> frozenset[str]:
    """Every name in the table, formal or familiar: names known to be real, so never typos of each other."""
    return frozenset(_index())
