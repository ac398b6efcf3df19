"""Vocabulary for the identity benchmark's synthetic population: names, places, email domains.

Lists are ordered most common first; the generator draws from them with Zipf-like weights, so that
common names (John Smith in Springfield) collide the way they do in real customer bases.
"""

from __future__ import annotations

FEMALE_FIRST = (
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa margaret betty "
    "sandra ashley dorothy kimberly emily donna michelle carol amanda melissa deborah stephanie rebecca "
    "laura sharon cynthia kathleen amy shirley angela helen anna brenda pamela nicole samantha katherine "
    "emma ruth christine catherine debra rachel carolyn janet virginia maria heather diane julie joyce "
    "victoria kelly christina joan evelyn lauren judith olivia frances martha cheryl megan andrea hannah "
    "jacqueline ann jean alice kathryn gloria teresa doris sara janice julia marie madison grace judy "
    "theresa beverly denise marilyn amber danielle abigail brittany rose diana natalie sophia alexis lori "
    "kayla jane eleanor harriet isabella charlotte alexandra chloé zoë renée inès sofía lucía ingrid "
    "astrid siobhan aoife niamh małgorzata agnieszka priya ananya mei yuki fatima aisha"
).split()

MALE_FIRST = (
    "james robert john michael david william richard joseph thomas charles christopher daniel matthew "
    "anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason "
    "jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel "
    "gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas "
    "zachary peter kyle ethan walter noah jeremy christian keith roger terry gerald harold sean austin carl "
    "arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan albert willie alan juan wayne "
    "elijah randy roy vincent ralph eugene russell bobby mason philip louis harry alfred leonard frederick "
    "theodore nathaniel augustus josé françois jürgen søren björn andré rené łukasz piotr rahul arjun wei "
    "hiroshi omar mohammed liam oliver"
).split()

SURNAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez "
    "wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark "
    "ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams "
    "nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker "
    "cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper "
    "peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james "
    "bennett gray mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez "
    "powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales fisher vasquez "
    "simmons romero jordan patterson alexander hamilton graham reynolds griffin wallace moreno west cole "
    "hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford castro marshall owens "
    "harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman webb tucker "
    "guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon munoz "
    "hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice "
    "schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley "
    "spencer hawkins arnold pierce vazquez hansen peters santos hart bradley knight elliott cunningham "
    "duncan armstrong hudson carroll lane riley andrews alvarado ray delgado berry perkins hoffman "
    "johnston matthews peña richards willis carpenter lawrence sandoval o'brien o'connor mcallister "
    "müller schröder núñez lefèvre dubois kowalski wiśniewski nowak sørensen åkesson van der berg "
    "fitzgerald macdonald featherstonehaugh okonkwo adebayo nakamura yamamoto kapoor chowdhury"
).split()
# "van der berg" split into three tokens above; keep it as one compound surname instead.
SURNAMES = tuple(s for s in SURNAMES if s not in ("van", "der", "berg")) + ("van der berg",)

# Nicknames the scorer's table does not know: the generator uses them now and then, so the benchmark
# does not only reward the table the scorer was written with.
UNKNOWN_NICKNAMES = {
    "amanda": ("mandy",),
    "virginia": ("ginny",),
    "eleanor": ("nell", "ellie"),
    "harriet": ("hattie",),
    "augustus": ("gus",),
    "dorothy": ("dora",),
    "gerald": ("gerry",),
    "raymond": ("ray",),
    "douglas": ("doug",),
    "vincent": ("vince",),
}

# (city, region, country, postcode maker key, phone region)
CITIES = (
    ("Springfield", "IL", "US", "us", "US"),
    ("San Francisco", "CA", "US", "us", "US"),
    ("Oakland", "CA", "US", "us", "US"),
    ("New York", "NY", "US", "us", "US"),
    ("Brooklyn", "NY", "US", "us", "US"),
    ("Chicago", "IL", "US", "us", "US"),
    ("Boston", "MA", "US", "us", "US"),
    ("Seattle", "WA", "US", "us", "US"),
    ("Austin", "TX", "US", "us", "US"),
    ("Houston", "TX", "US", "us", "US"),
    ("Denver", "CO", "US", "us", "US"),
    ("Atlanta", "GA", "US", "us", "US"),
    ("Portland", "OR", "US", "us", "US"),
    ("Miami", "FL", "US", "us", "US"),
    ("London", None, "GB", "gb", "GB"),
    ("Manchester", None, "GB", "gb", "GB"),
    ("Bristol", None, "GB", "gb", "GB"),
    ("Edinburgh", None, "GB", "gb", "GB"),
    ("Paris", None, "FR", "fr", "FR"),
    ("Lyon", None, "FR", "fr", "FR"),
    ("München", None, "DE", "de", "DE"),
    ("Köln", None, "DE", "de", "DE"),
)

STREETS = (
    "main oak maple cedar pine elm washington lake hill park high church station victoria mill "
    "north south west king queen baker elmwood sunset river broad market green spring chestnut willow "
    "jefferson lincoln madison franklin grove meadow orchard"
).split()
STREET_TYPES = (("street", "st"), ("road", "rd"), ("avenue", "ave"), ("lane", "ln"), ("drive", "dr"))

EMAIL_DOMAINS = (
    "gmail.com gmail.com gmail.com yahoo.com outlook.com hotmail.com icloud.com aol.com proton.me "
    "hotmail.co.uk btinternet.com orange.fr gmx.de web.de comcast.net mail.com fastmail.com"
).split()
WORK_DOMAINS = "acme.com initech.com globex.com umbrella.co.uk hooli.com stark.io wayne.org".split()
TYPO_DOMAINS = {
    "gmail.com": "gmial.com",
    "yahoo.com": "yaho.com",
    "hotmail.com": "hotmal.com",
    "outlook.com": "outlok.com",
}

# Identifiers a shop's staff type in for customers who gave none: shared, must never merge anyone.
SHARED_EMAILS = ("support@ourshop.com", "noemail@ourshop.com", "orders@ourshop.com")
SHARED_PHONES = ("+14155550100",)
BLOCKLIST = ("email:*@ourshop.com", "phone:+14155550100")
