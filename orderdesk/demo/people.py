"""Who buys in the generated data: countries with regions and cities, names, devices.

Plain tables, indexed by a customer number so a returning customer keeps one name, email
address and country across orders without any per-customer state.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    weight: int
    currency: str  # the currency its customers pay in when the offer has it
    names: str  # key of NAMES
    phone_prefix: str
    regions: tuple[tuple[str, tuple[str, ...]], ...]  # (region, cities)
    domains: tuple[str, ...]


COUNTRIES = (
    Country(
        "FI",
        40,
        "EUR",
        "fi",
        "+358 40",
        (
            ("Uusimaa", ("Helsinki", "Espoo", "Vantaa", "Porvoo")),
            ("Pirkanmaa", ("Tampere", "Nokia")),
            ("Varsinais-Suomi", ("Turku", "Salo")),
            ("Pohjois-Pohjanmaa", ("Oulu",)),
            ("Keski-Suomi", ("Jyväskylä",)),
        ),
        ("gmail.com", "outlook.com", "kolumbus.fi", "luukku.com", "hotmail.com"),
    ),
    Country(
        "SE",
        12,
        "SEK",
        "sv",
        "+46 70",
        (
            ("Stockholm", ("Stockholm", "Solna")),
            ("Västra Götaland", ("Göteborg", "Borås")),
            ("Skåne", ("Malmö", "Lund")),
        ),
        ("gmail.com", "telia.com", "hotmail.se", "outlook.com"),
    ),
    Country(
        "US",
        9,
        "USD",
        "en",
        "+1 415",
        (
            ("California", ("Los Angeles", "San Francisco", "San Diego")),
            ("New York", ("New York", "Brooklyn")),
            ("Texas", ("Austin", "Houston")),
            ("Washington", ("Seattle",)),
        ),
        ("gmail.com", "yahoo.com", "icloud.com", "outlook.com"),
    ),
    Country(
        "DE",
        7,
        "EUR",
        "de",
        "+49 151",
        (
            ("Bayern", ("München", "Nürnberg")),
            ("Berlin", ("Berlin",)),
            ("Hamburg", ("Hamburg",)),
            ("Nordrhein-Westfalen", ("Köln", "Düsseldorf")),
        ),
        ("gmail.com", "web.de", "gmx.de", "t-online.de"),
    ),
    Country(
        "GB",
        5,
        "EUR",
        "en",
        "+44 7700",
        (("England", ("London", "Manchester", "Bristol")), ("Scotland", ("Edinburgh", "Glasgow"))),
        ("gmail.com", "btinternet.com", "outlook.com"),
    ),
    Country(
        "EE",
        4,
        "EUR",
        "et",
        "+372 5",
        (("Harju", ("Tallinn",)), ("Tartu", ("Tartu",))),
        ("gmail.com", "mail.ee"),
    ),
    Country(
        "NO",
        4,
        "EUR",
        "no",
        "+47 41",
        (("Oslo", ("Oslo",)), ("Vestland", ("Bergen",))),
        ("gmail.com", "online.no"),
    ),
    Country(
        "DK",
        3,
        "EUR",
        "da",
        "+45 20",
        (("Hovedstaden", ("København",)), ("Midtjylland", ("Aarhus",))),
        ("gmail.com", "mail.dk"),
    ),
    Country(
        "NL",
        3,
        "EUR",
        "nl",
        "+31 6",
        (("Noord-Holland", ("Amsterdam", "Haarlem")), ("Zuid-Holland", ("Rotterdam", "Den Haag"))),
        ("gmail.com", "ziggo.nl"),
    ),
    Country(
        "ES",
        3,
        "EUR",
        "es",
        "+34 612",
        (("Madrid", ("Madrid",)), ("Cataluña", ("Barcelona",)), ("Andalucía", ("Sevilla",))),
        ("gmail.com", "hotmail.es"),
    ),
    Country(
        "FR",
        3,
        "EUR",
        "fr",
        "+33 6",
        (("Île-de-France", ("Paris",)), ("Auvergne-Rhône-Alpes", ("Lyon",))),
        ("gmail.com", "orange.fr"),
    ),
    Country(
        "CA",
        2,
        "USD",
        "en",
        "+1 416",
        (("Ontario", ("Toronto", "Ottawa")), ("British Columbia", ("Vancouver",))),
        ("gmail.com", "outlook.com"),
    ),
    Country(
        "PL",
        2,
        "EUR",
        "pl",
        "+48 601",
        (("Mazowieckie", ("Warszawa",)), ("Małopolskie", ("Kraków",))),
        ("gmail.com", "wp.pl"),
    ),
    Country(
        "AU",
        2,
        "USD",
        "en",
        "+61 4",
        (("New South Wales", ("Sydney",)), ("Victoria", ("Melbourne",))),
        ("gmail.com", "bigpond.com"),
    ),
)

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fi": (
        ("Aino", "Eero", "Helmi", "Juha", "Laura", "Mikko", "Sanna", "Ville", "Emilia", "Onni"),
        ("Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Järvinen"),
    ),
    "sv": (
        ("Astrid", "Erik", "Maja", "Lars", "Elsa", "Oskar", "Ingrid", "Nils"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Lindqvist", "Söderberg"),
    ),
    "en": (
        ("Emma", "James", "Olivia", "Noah", "Ava", "Liam", "Sophia", "Mason", "Grace"),
        ("Smith", "Johnson", "Williams", "Brown", "Taylor", "O'Connor", "Miller"),
    ),
    "de": (
        ("Lena", "Lukas", "Hannah", "Felix", "Mia", "Jonas", "Sophie"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Wagner"),
    ),
    "et": (("Mari", "Kristjan", "Liis", "Andres", "Kadri"), ("Tamm", "Saar", "Sepp", "Mägi")),
    "no": (("Ingrid", "Henrik", "Nora", "Magnus", "Sofie"), ("Hansen", "Olsen", "Berg", "Haugen")),
    "da": (
        ("Freja", "Mads", "Ida", "Rasmus", "Clara"),
        ("Jensen", "Nielsen", "Pedersen", "Møller"),
    ),
    "nl": (
        ("Sanne", "Daan", "Fleur", "Bram", "Lotte"),
        ("de Vries", "Jansen", "van Dijk", "Bakker"),
    ),
    "es": (
        ("Lucía", "Mateo", "Carmen", "Javier", "Elena"),
        ("García", "Martínez", "López", "Ruiz"),
    ),
    "fr": (
        ("Chloé", "Louis", "Camille", "Hugo", "Léa"),
        ("Martin", "Bernard", "Dubois", "Lefèvre"),
    ),
    "pl": (("Zofia", "Jakub", "Maja", "Kacper", "Alicja"), ("Nowak", "Kowalski", "Wiśniewska")),
}

ASCII = str.maketrans(
    {
        "ä": "a",
        "ö": "o",
        "å": "a",
        "ü": "u",
        "é": "e",
        "è": "e",
        "ø": "o",
        "ł": "l",
        "ś": "s",
        "í": "i",
        "ñ": "n",
        "'": "",
        " ": "",
    }
)

# (device type, weight, user agent)
DEVICES = (
    (
        "desktop",
        20,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/142.0.0.0 Safari/537.36",
    ),
    (
        "desktop",
        14,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/26.1 Safari/605.1.15",
    ),
    (
        "desktop",
        6,
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0",
    ),
    (
        "mobile",
        24,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 26_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1",
    ),
    (
        "mobile",
        17,
        "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/142.0.0.0 Mobile Safari/537.36",
    ),
    (
        "mobile",
        8,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 26_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 402.0.0.35.81",
    ),
    (
        "tablet",
        6,
        "Mozilla/5.0 (iPad; CPU OS 26_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/26.1 Mobile/15E148 Safari/604.1",
    ),
    ("other", 2, ""),
)


def weighted_table(weights: list[int]) -> list[int]:
    """Indexes repeated by weight, for O(1) weighted picks with `table[rng.randrange(len)]`."""
    return [i for i, weight in enumerate(weights) for _ in range(weight)]


COUNTRY_TABLE = weighted_table([c.weight for c in COUNTRIES])
DEVICE_TABLE = weighted_table([d[1] for d in DEVICES])


@dataclass(frozen=True)
class Customer:
    email: str
    first_name: str
    last_name: str
    country: Country
    region: str
    city: str
    phone: str
    postal_code: str


def customer(number: int) -> Customer:
    """The customer with this number; the same number always gives the same person."""
    country = COUNTRIES[COUNTRY_TABLE[(number * 7919) % len(COUNTRY_TABLE)]]
    firsts, lasts = NAMES[country.names]
    first = firsts[number % len(firsts)]
    last = lasts[(number // len(firsts)) % len(lasts)]
    region, cities = country.regions[(number // 3) % len(country.regions)]
    city = cities[(number // 11) % len(cities)]
    domain = country.domains[(number // 5) % len(country.domains)]
    local = f"{first}.{last}".lower().translate(ASCII)
    return Customer(
        email=f"{local}{number}@{domain}",
        first_name=first,
        last_name=last,
        country=country,
        region=region,
        city=city,
        phone=f"{country.phone_prefix} {number % 10_000_000:07d}",
        postal_code=f"{(number * 37) % 100_000:05d}",
    )
