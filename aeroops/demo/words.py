"""The demo's vocabularies: constants only, so the documents they make depend on nothing but the
seed (no locale, no system word list, no package whose data may change)."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Common English words, roughly in order of frequency: the head of the Zipf distribution the
# free text is drawn from (aeroops.demo.text); the tail is made-up words (`tail_words`).
COMMON_WORDS = _words(
    """
the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by not word but what some we can out other were all there when up use your how said
an each she which do their time if will way about many then them write would like so these her
long make thing see him two has look more day could go come did number sound no most people my
over know water than call first who may down side been now find any new work part take get place
made live where after back little only round man year came show every good me give our under
name very through just form sentence great think say help low line differ turn cause much mean
before move right boy old too same tell does set three want air well also play small end put
home read hand port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother world near build
self earth father head stand own page should country found answer school grow study still learn
plant cover food sun four between state keep eye never last let thought city tree cross farm
hard start might story saw far sea draw left late run while press close night real life few
north open seem together next white children begin got walk example ease paper group always
music those both mark often letter until mile river car feet care second book carry took
science eat room friend began idea fish mountain stop once base hear horse cut sure watch color
face wood main enough plain girl usual young ready above ever red list though feel talk bird
soon body dog family direct pose leave song measure door product black short numeral class wind
question happen complete ship area half rock order fire south problem piece told knew pass
since top whole king space heard best hour better true during hundred five remember step early
hold west ground interest reach fast verb sing listen six table travel less morning ten simple
several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry
dark machine note wait plan figure star box noun field rest correct able pound done beauty
drive stood contain front teach week final gave green oh quick develop ocean warm free minute
strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat
common gold possible plane stead dry wonder laugh thousand ago ran check game shape equate hot
miss brought heat snow tire bring yes distant fill east paint language among grand ball yet
wave drop heart am present heavy dance engine position arm wide sail material size vary settle
speak weight general ice matter circle pair include divide syllable felt perhaps pick sudden
count square reason length represent art subject region energy hunt probable bed brother egg
ride cell believe fraction forest sit race window store summer train sleep prove lone leg
exercise wall catch mount wish sky board joy winter sat written wild instrument kept glass
grass cow job edge sign visit past soft fun bright gas weather month million bear finish happy
hope flower clothe strange gone jump baby eight village meet root buy raise solve metal whether
push seven paragraph third shall held hair describe cook floor either result burn hill safe cat
century consider type law bit coast copy phrase silent tall sand soil roll temperature finger
industry value fight lie beat excite natural view sense ear else quite broke case middle kill
son lake moment scale loud spring observe child straight consonant nation dictionary milk speed
method organ pay age section dress cloud surprise quiet stone tiny climb cool design poor lot
experiment bottom key iron single stick flat twenty skin smile crease hole trade melody trip
office receive row mouth exact symbol die least trouble shout except wrote seed tone join
suggest clean break lady yard rise bad blow oil blood touch grew cent mix team wire cost lost
brown wear garden equal sent choose fell fit flow fair bank collect save control decimal gentle
woman captain practice separate difficult doctor please protect noon whose locate ring
character insect caught period indicate radio spoke atom human history effect electric expect
crop modern element hit student corner party supply bone rail imagine provide agree thus
capital chair danger fruit rich thick soldier process operate guess necessary sharp wing create
neighbor wash bat rather crowd corn compare poem string bell depend meat rub tube famous dollar
stream fear sight thin triangle planet hurry chief colony clock mine tie enter major fresh
search send yellow gun allow print dead spot desert suit current lift rose continue block chart
hat sell success company subtract event particular deal swim term opposite wife shoe shoulder
spread arrange camp invent cotton born determine quart nine truck noise level chance gather shop
stretch throw shine property column molecule select wrong gray repeat require broad prepare
salt nose plural anger claim continent oxygen sugar death pretty skill women season solution
magnet silver thank branch match suffix especially fig afraid huge sister steel discuss forward
similar guide experience score apple bought led pitch coat mass card band rope slip win dream
evening condition feed tool total basic smell valley nor double seat arrive master track parent
shore division sheet substance favor connect post spend chord fat glad original share station
dad bread charge proper bar offer segment slave duck instant market degree populate chick dear
enemy reply drink occur support speech nature range steam motion path liquid log meant quotient
teeth shell neck
customer delivery package refund account password login payment invoice shipping warehouse
support ticket issue update version release server client browser mobile app screen button
email address phone message review rating quality price discount coupon cart checkout
subscription plan upgrade cancel return exchange damaged missing late arrived tracking courier
label size fits colour fabric battery charger cable screen warranty repair replacement manual
setup install error crash slow fast responsive helpful friendly rude agent chat callback
"""
)

FIRST_NAMES = _words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty
Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy
Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole
Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel
Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth
Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren
Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian Andrea Keith Cheryl
Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann Carl Sara
Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy
Alice Joe Julia Bruce Judy Gabriel Sophia Logan Grace Albert Denise Willie Amber Alan Doris
Juan Marilyn Wayne Danielle Elijah Beverly Randy Isabella Roy Theresa Vincent Diana Ralph
Natalie Eugene Brittany Russell Charlotte Bobby Marie Mason Kayla Philip Alexis Louis Lori
Ahmed Fatima Wei Yuki Hiroshi Mei Priya Arjun Lucas Sofia Mateo Valentina Lars Ingrid Pierre
Camille Giulia Marco Katarzyna Piotr Olga Ivan Chloe Hugo Lea Emil Freya Kwame Amara Tariq Leila
"""
)

LAST_NAMES = _words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
Mueller Schmidt Schneider Fischer Weber Meyer Dubois Laurent Rossi Russo Ferrari Kowalski Nowak
Ivanov Petrov Sato Suzuki Takahashi Tanaka Wang Zhang Liu Singh Kumar Sharma Khan Ali Hassan
Okafor Mensah Larsen Nielsen Hansen Johansson Lindqvist Novak Horvat Kovacs Papadopoulos
"""
)

# (city, ISO country code, currency)
CITIES = (
    ("New York", "US", "USD"),
    ("Los Angeles", "US", "USD"),
    ("Chicago", "US", "USD"),
    ("Houston", "US", "USD"),
    ("Phoenix", "US", "USD"),
    ("Seattle", "US", "USD"),
    ("Denver", "US", "USD"),
    ("Boston", "US", "USD"),
    ("Atlanta", "US", "USD"),
    ("Toronto", "CA", "CAD"),
    ("Montreal", "CA", "CAD"),
    ("Vancouver", "CA", "CAD"),
    ("Mexico City", "MX", "MXN"),
    ("London", "GB", "GBP"),
    ("Manchester", "GB", "GBP"),
    ("Edinburgh", "GB", "GBP"),
    ("Dublin", "IE", "EUR"),
    ("Paris", "FR", "EUR"),
    ("Lyon", "FR", "EUR"),
    ("Marseille", "FR", "EUR"),
    ("Berlin", "DE", "EUR"),
    ("Munich", "DE", "EUR"),
    ("Hamburg", "DE", "EUR"),
    ("Madrid", "ES", "EUR"),
    ("Barcelona", "ES", "EUR"),
    ("Rome", "IT", "EUR"),
    ("Milan", "IT", "EUR"),
    ("Amsterdam", "NL", "EUR"),
    ("Brussels", "BE", "EUR"),
    ("Vienna", "AT", "EUR"),
    ("Zurich", "CH", "CHF"),
    ("Stockholm", "SE", "SEK"),
    ("Oslo", "NO", "NOK"),
    ("Copenhagen", "DK", "DKK"),
    ("Helsinki", "FI", "EUR"),
    ("Warsaw", "PL", "PLN"),
    ("Prague", "CZ", "CZK"),
    ("Lisbon", "PT", "EUR"),
    ("Athens", "GR", "EUR"),
    ("Istanbul", "TR", "TRY"),
    ("Tokyo", "JP", "JPY"),
    ("Osaka", "JP", "JPY"),
    ("Seoul", "KR", "KRW"),
    ("Shanghai", "CN", "CNY"),
    ("Singapore", "SG", "SGD"),
    ("Mumbai", "IN", "INR"),
    ("Bangalore", "IN", "INR"),
    ("Sydney", "AU", "AUD"),
    ("Melbourne", "AU", "AUD"),
    ("Auckland", "NZ", "NZD"),
    ("Sao Paulo", "BR", "BRL"),
    ("Buenos Aires", "AR", "ARS"),
    ("Lagos", "NG", "NGN"),
    ("Nairobi", "KE", "KES"),
    ("Cape Town", "ZA", "ZAR"),
    ("Cairo", "EG", "EGP"),
)

STREET_NAMES = _words(
    """
Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Church High Station Mill River Spring
Victoria Garden Market Queen King Bridge North South West East Forest Meadow Sunset Harbor
Chestnut Willow Walnut Highland Lincoln Jefferson Madison Franklin Cherry Birch Orchard Valley
"""
)
STREET_KINDS = ("Street", "Avenue", "Road", "Lane", "Drive", "Way", "Court", "Place", "Boulevard")

MAIL_DOMAINS = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "web.de",
    "orange.fr",
    "example.com",
    "example.org",
    "mail.ru",
    "qq.com",
)

USER_TAGS = (
    "newsletter",
    "vip",
    "beta",
    "wholesale",
    "churn-risk",
    "referral",
    "mobile",
    "gift-buyer",
    "student",
    "b2b",
    "support-priority",
    "early-adopter",
)

ORDER_STATUSES = (  # weighted by repetition: most orders are delivered
    ("delivered",) * 12 + ("shipped",) * 4 + ("processing",) * 2 + ("pending", "cancelled", "returned")
)

PRODUCT_ADJECTIVES = _words(
    """
Classic Premium Compact Wireless Portable Ergonomic Vintage Organic Smart Ultra Lightweight
Heavy-Duty Waterproof Foldable Adjustable Rechargeable Stainless Bamboo Leather Cotton Wool
Modern Rustic Minimalist Deluxe Essential Everyday Pro Mini Large Slim
"""
)
PRODUCT_NOUNS = _words(
    """
Headphones Speaker Backpack Kettle Lamp Chair Desk Mug Bottle Jacket Sneakers Watch Keyboard
Mouse Monitor Charger Blender Toaster Pan Knife Blanket Pillow Towel Tent Bicycle Helmet Camera
Tripod Notebook Pen Wallet Umbrella Sunglasses Scarf Gloves Router Drone Thermostat Vacuum
"""
)
CATEGORIES = (
    "electronics",
    "audio",
    "home",
    "kitchen",
    "outdoor",
    "sports",
    "fashion",
    "office",
    "travel",
    "garden",
    "toys",
    "beauty",
    "books",
    "health",
)

_SYLLABLES = _words(
    """
ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go gu ha he hi ho ka ke ki ko la le li
lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va
ve vi vo za ze zo an en in on ar er ir or al el il ol ax ex ix st tr pl br gr cr th sh ch
"""
)


def tail_words(count: int) -> tuple[str, ...]:
    """``count`` made-up words of two to four syllables, the same on every machine: the long tail
    of rare words (names, jargon, typos) that real text has and a short list lacks."""
    taken = set(COMMON_WORDS)
    words: list[str] = []
    n = len(_SYLLABLES)
    i = 0
    while len(words) < count:
        # a fixed walk over syllable combinations (a linear congruential sequence: no RNG state)
        i += 1
        k = (i * 2654435761) & 0xFFFFFFFF
        parts = 2 + k % 3
        word = "".join(_SYLLABLES[(k >> (5 + 7 * p)) % n] for p in range(parts))
        if word not in taken:
            taken.add(word)
            words.append(word)
    return tuple(words)
