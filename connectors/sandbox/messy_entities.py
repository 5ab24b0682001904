"""True organisations and people for the messy corpus (faker, one seeded generator per locale), and how each
vendor's users write them down: HubSpot companies, contacts and deals, NetSuite customers and contacts.

Two records of one organisation differ the way real systems' records do: HubSpot keeps the bare domain and the
phone as the rep typed it, NetSuite the web address and the accounts payable mailbox; the ERP knows the customer
by its legal name and number, the CRM by the name sales uses.
"""
from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from faker import Faker

from connectors.sandbox.messy_corpus import Organisation, Person


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    locale: str
    weight: float  # share of organisations (an American mid-market vendor's customer base)
    forms: tuple[str, ...]  # canonical legal forms
    currency: str  # as NetSuite and HubSpot offer it (USD where the account has no local currency)
    names: tuple[str, ...]  # how sales writes the country in HubSpot
    sectors: tuple[str, ...]  # words after a family name in a company's core name


EN_SECTORS = ("Logistics", "Foods", "Software", "Manufacturing", "Supply", "Industries", "Trading", "Systems")
COUNTRIES = (
    Country("US", "en_US", 0.64, ("Inc", "LLC", "Corp"), "USD", ("United States", "USA", "US"), EN_SECTORS),
    Country("GB", "en_GB", 0.08, ("Ltd", "PLC"), "GBP", ("United Kingdom", "UK", "Great Britain"), EN_SECTORS),
    Country("DE", "de_DE", 0.08, ("GmbH", "AG"), "EUR", ("Germany", "Deutschland", "DE"),
            ("Logistik", "Maschinenbau", "Handel", "Lebensmittel", "Software")),
    Country("FR", "fr_FR", 0.06, ("SARL", "S.A."), "EUR", ("France", "FR"),
            ("Logistique", "Distribution", "Industries", "Alimentaire")),
    Country("ES", "es_ES", 0.05, ("S.L.", "S.A."), "EUR", ("Spain", "España", "ES"),
            ("Distribuciones", "Logística", "Industrias", "Alimentación")),
    Country("SA", "ar_SA", 0.02, ("LLC",), "USD", ("Saudi Arabia", "KSA"), ("للتجارة", "للمقاولات", "للصناعات")),
    Country("IL", "he_IL", 0.02, ("Ltd",), "USD", ("Israel",), ("תעשיות", "שירותים", "מערכות")),
    Country("CN", "zh_CN", 0.03, ("有限公司",), "USD", ("China", "PRC"), ("科技", "贸易", "物流", "电子")),
    Country("JP", "ja_JP", 0.02, ("株式会社",), "USD", ("Japan",), ("電気", "商事", "物産", "工業")),
)
BY_CODE = {country.code: country for country in COUNTRIES}
# Area codes of real US cities: the numbers stay valid for phonenumbers.
US_AREA_CODES = ("201", "206", "212", "213", "217", "303", "305", "310", "312", "404", "415", "512", "602", "614",
                 "617", "702", "713", "919")
# The industries the HubSpot emulator offers (the default template maps each) and their NetSuite categories.
INDUSTRIES = {"COMPUTER_SOFTWARE": "Software", "MANUFACTURING": "Manufacturing", "RETAIL": "Retail",
              "WHOLESALE": "Wholesale", "MACHINERY": "Manufacturing", "LOGISTICS": "Services"}
TERMS = ("Net 30", "Net 30", "Net 30", "Net 15", "Net 60", "Due on receipt")
ERP_STATUSES_CUSTOMER = ("CUSTOMER-Closed Won", "CUSTOMER-Renewal")
ERP_STATUSES_OTHER = ("LEAD-Qualified", "PROSPECT-In Discussion", "PROSPECT-Proposal", "PROSPECT-In Negotiation")
DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost")
DEAL_CURRENCIES = {"USD", "EUR", "GBP", "CHF"}  # the emulator's deal_currency_code options


def ascii_fold(text: str) -> str:
    """Latin text without its accents ("Müller" -> "Muller"); "" when nothing Latin is left."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded if folded.strip() and len(folded) >= len(text) // 2 else ""


def slug(text: str) -> str:
    return "-".join("".join(c for c in word if c.isalnum()) for word in ascii_fold(text).lower().split()).strip("-")


class Entities:
    """Makes organisations and people, reproducibly for the random generator it is given."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fakers: dict[str, Faker] = {}
        for country in COUNTRIES:
            faker = Faker(country.locale)
            faker.seed_instance(rng.randrange(2**32))
            self.fakers[country.code] = faker
        self.latin = Faker("en_US")
        self.latin.seed_instance(rng.randrange(2**32))
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.org_count = self.person_count = 0

    # -- organisations -------------------------------------------------------------------

    def organisation(self) -> Organisation:
        country = self.rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
        faker = self.fakers[country.code]
        core = f"{faker.last_name()} {self.rng.choice(country.sectors)}"
        if country.code in ("CN", "JP"):
            core = core.replace(" ", "")
        self.org_count += 1
        street = faker.street_address().replace("\n", ", ")
        return Organisation(
            id=f"org-{self.org_count:05d}", core=core, legal_form=self.rng.choice(country.forms),
            country=country.code, domain=self._domain(core, country), phone=self.phone(country.code),
            street=street, city=faker.city(), postcode=faker.postcode(),
            industry=self.rng.choice(sorted(INDUSTRIES)))

    def _domain(self, core: str, country: Country) -> str:
        base = slug(core) or f"{self.latin.domain_word()}-{country.code.lower()}"
        domain, n = f"{base}.example", 1
        while domain in self.domains:
            n += 1
            domain = f"{base}{n}.example"
        self.domains.add(domain)
        return domain

    def phone(self, region: str) -> str:
        """A valid fixed-line number of the region, in E.164."""
        if region == "US":
            return (f"+1{self.rng.choice(US_AREA_CODES)}{self.rng.randint(2, 9)}{self.rng.randint(0, 99):02d}"
                    f"{self.rng.randint(0, 9999):04d}")
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.FIXED_LINE)
        national = str(example.national_number)
        for _ in range(20):
            number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{self.rng.randint(0, 9999):04d}")
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)

    # -- people -------------------------------------------------------------------------

    def person(self, org: Organisation) -> Person:
        faker = self.fakers[org.country]
        first, last = faker.first_name(), faker.last_name()
        if org.country in ("CN", "JP"):
            local = f"{faker.first_romanized_name()}.{faker.last_romanized_name()}"
        else:
            local = f"{ascii_fold(first)}.{ascii_fold(last)}" if ascii_fold(first) and ascii_fold(last) else \
                self.latin.user_name()
        local = "".join(c for c in local.lower().replace(" ", "") if c.isalnum() or c in "._-").strip(".")
        email, n = f"{local}@{org.domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{org.domain}"
        self.emails.add(email)
        self.person_count += 1
        title = faker.job() if self.rng.random() < 0.8 else ""
        phone = self.phone(org.country) if self.rng.random() < 0.7 else ""
        return Person(id=f"person-{self.person_count:05d}", org=org.id, first=first, last=last, email=email,
                      phone=phone, title=title[:60])

    def personal_email(self, person: Person) -> str:
        """Where the same person writes from home (a duplicate's address)."""
        local = person.email.split("@")[0]
        email = f"{local}{self.rng.randint(1, 99)}@{self.rng.choice(('gmail.example', 'mail.example'))}"
        self.emails.add(email)
        return email

    # -- how each vendor's users write them ----------------------------------------------

    def typed_phone(self, e164: str, *, erp: bool = False) -> str:
        """A phone number as a person types it: E.164, international, or (at home) national."""
        number = phonenumbers.parse(e164)
        styles = ["intl", "e164"]
        if number.country_code == 1:
            styles = ["national", "dashes", "dots", "intl", "e164"] if not erp else ["national", "intl"]
        style = self.rng.choice(styles)
        national = str(number.national_number)
        if style == "national":
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if style == "dashes":
            return f"{national[:3]}-{national[3:6]}-{national[6:]}"
        if style == "dots":
            return f"{national[:3]}.{national[3:6]}.{national[6:]}"
        if style == "e164":
            return e164
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def hubspot_company(self, org: Organisation, *, customer: bool) -> dict:
        country = BY_CODE[org.country]
        domain = org.domain if self.rng.random() < 0.85 else f"www.{org.domain}"
        stage = "customer" if customer else self.rng.choice(("lead", "lead", "opportunity", "other"))
        return {"name": org.name, "domain": domain, "phone": self.typed_phone(org.phone), "address": org.street,
                "city": org.city, "zip": org.postcode, "country": self.rng.choice(country.names),
                "industry": org.industry, "lifecyclestage": stage}

    def hubspot_contact(self, person: Person, company: dict) -> dict:
        fields = {"firstname": person.first, "lastname": person.last, "email": person.email,
                  "company": company.get("name", ""), "lifecyclestage": company.get("lifecyclestage") or "lead"}
        if person.phone:
            fields["phone"] = self.typed_phone(person.phone)
        if person.title:
            fields["jobtitle"] = person.title
        return fields

    def hubspot_deal(self, org: Organisation) -> dict:
        close = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=self.rng.randint(0, 540))
        currency = BY_CODE[org.country].currency
        return {"dealname": f"{org.core} - {self.rng.choice(('annual supply', 'renewal', 'pilot', 'expansion'))}",
                "amount": f"{self.rng.randint(5, 500) * 100}.00", "dealstage": self.rng.choice(DEAL_STAGES),
                "pipeline": "default", "closedate": close.strftime("%Y-%m-%dT00:00:00.000Z"),
                "deal_currency_code": currency if currency in DEAL_CURRENCIES else "USD"}

    def netsuite_customer(self, org: Organisation, number: int, *, customer: bool) -> dict:
        country = BY_CODE[org.country]
        url = self.rng.choice((f"https://www.{org.domain}", f"https://{org.domain}", f"http://www.{org.domain}"))
        address = {"addressee": org.name, "addr1": org.street, "city": org.city, "zip": org.postcode,
                   "country": org.country}
        return {
            "entityId": f"CUST-{number:05d}", "companyName": org.name, "email": f"ap@{org.domain}",
            "phone": self.typed_phone(org.phone, erp=True), "url": url,
            "terms": self.rng.choice(TERMS), "currency": country.currency,
            "creditLimit": float(self.rng.randint(1, 100) * 1000), "category": INDUSTRIES[org.industry],
            "entityStatus": self.rng.choice(ERP_STATUSES_CUSTOMER if customer else ERP_STATUSES_OTHER),
            "isInactive": False,
            "addressBook": {"items": [{"label": "Main", "defaultBilling": True, "defaultShipping": True,
                                       "addressBookAddress": address}]},
        }

    def netsuite_contact(self, person: Person) -> dict:
        fields = {"entityId": f"{person.first} {person.last}", "firstName": person.first, "lastName": person.last,
                  "email": person.email, "isInactive": False}
        if person.phone:
            fields["phone"] = self.typed_phone(person.phone, erp=True)
        if person.title:
            fields["title"] = person.title
        return fields
