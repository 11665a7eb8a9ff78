"""Deterministic, realistic InforMEA-style records for the mock OData providers.

Records are plain dicts in the Olingo v2 toolkit vocabulary (INFORMEA-API.md 1.3), one ordered
dict ``id -> record`` per entity set. They are *canonical*: dates are timezone-aware
:class:`~datetime.datetime` values in UTC, countries are ISO 3166-1 alpha-2 upper case,
multilingual texts are lists of ``{"language", "value"}`` and Contacts carry ``treaties`` as a list
of treaty ids. :mod:`harvester.demo.provider` renders them in each provider's wire dialect.
"""

from __future__ import annotations

import random
import re
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "COUNTRIES",
    "ENTITY_SETS",
    "ISO3",
    "NAVIGATIONS",
    "TREATIES",
    "Dataset",
    "Record",
    "TreatyProfile",
    "demo_dataset",
    "generate_dataset",
]

from ..settings import ODATA_ENTITIES

Record = dict[str, Any]

ENTITY_SETS = ODATA_ENTITIES

#: Navigation properties of each entity set (everything else is a scalar property).
NAVIGATIONS: dict[str, tuple[str, ...]] = {
    "Treaties": ("title", "description"),
    "Meetings": ("title", "description"),
    "Decisions": ("title", "longTitle", "summary", "content", "keywords", "files"),
    "Contacts": ("treaties",),
    "CountryReports": ("title", "files"),
    "NationalPlans": ("title", "files"),
    "Sites": ("name",),
}

_TITLE_FIELD = {"Sites": "name", "Contacts": "position"}
_KEYWORD_NS = "https://www.informea.org/terms/"
_LAST_DAY = datetime(2025, 6, 30, tzinfo=UTC)
_SLUG_RE = re.compile(r"[^a-z0-9]+")


# --------------------------------------------------------------------------------------------
# The dataset and its mutation helpers
# --------------------------------------------------------------------------------------------


def _empty_sets() -> dict[str, dict[str, Record]]:
    return {name: {} for name in ENTITY_SETS}


@dataclass
class Dataset:
    """Records per entity set, each an insertion-ordered ``id -> record`` dict.

    ``version`` grows with every change made through :meth:`delete`, :meth:`touch` or
    :meth:`add`; providers use it to drop cached listings. Edit records through these helpers.
    """

    sets: dict[str, dict[str, Record]] = field(default_factory=_empty_sets)
    version: int = 0

    def __getitem__(self, entity: str) -> dict[str, Record]:
        """The ``id -> record`` dict of one entity set.

        :raises KeyError: for an unknown entity set.
        """
        return self.sets[entity]

    def sizes(self) -> dict[str, int]:
        """Number of records per entity set."""
        return {name: len(records) for name, records in self.sets.items()}

    def delete(self, entity: str, record_id: str) -> Record:
        """Remove a record (the providers then omit it and answer 404 by id).

        :raises KeyError: when the record does not exist.
        """
        record = self.sets[entity].pop(record_id)
        self.version += 1
        return record

    def touch(self, entity: str, record_id: str, when: datetime) -> Record:
        """Change a record's title (or name) and set its ``updated`` to ``when``.

        Treaties have no ``updated``; only their title changes.

        :raises KeyError: when the record does not exist.
        """
        record = dict(self.sets[entity][record_id])
        _revise_title(entity, record)
        if entity != "Treaties":
            record["updated"] = when
        self.sets[entity][record_id] = record
        self.version += 1
        return record

    def add(self, entity: str, record: Record) -> None:
        """Add (or replace) a record, keyed by its ``id``."""
        self.sets[entity][str(record["id"])] = record
        self.version += 1


def _revise_title(entity: str, record: Record) -> None:
    """Mark the English title of ``record`` (a fresh copy) as revised."""
    key = _TITLE_FIELD.get(entity, "title")
    value = record.get(key)
    if isinstance(value, str) or value is None:
        record[key] = f"{value or ''} (revised)".strip()
        return
    record[key] = [
        {**item, "value": f"{item['value']} (revised)"} if item["language"] == "en" else item
        for item in value
    ]
    if entity == "Treaties":
        record["titleEnglish"] = f"{record['titleEnglish']} (revised)"


# --------------------------------------------------------------------------------------------
# Reference data: treaties, countries, phrases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreatyProfile:
    """What makes one convention's records look like that convention's.

    :param style: decision numbering style (see :func:`_number`).
    :param session: number of the main body's session held around 2002.
    :param body: ``"cop"``, ``"mop"`` or ``"com"`` (the WHC Committee), also the meeting type.
    """

    slug: str
    title: str
    official: str
    website: str
    title_fr: str
    title_es: str
    style: str
    session: int
    body: str = "cop"
    decision_type: str = "decision"
    plan_type: str = "nbsap"
    uuid: str = ""

    @property
    def treaty_uuid(self) -> str:
        """The InforMEA treaty UUID (a stable made-up one unless known)."""
        return self.uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, self.website))

    @property
    def domain(self) -> str:
        """Host name of the secretariat's web site."""
        return self.website.split("//", 1)[-1].split("/", 1)[0]


def _profile(slug: str, title: str, official: str, website: str, fr: str, es: str, style: str,
             session: int, **extra: str) -> TreatyProfile:  # fmt: skip
    return TreatyProfile(slug, title, official, website, fr, es, style, session, **extra)


TREATIES: dict[str, TreatyProfile] = {
    p.slug: p
    for p in (
        _profile("cbd", "Convention on Biological Diversity", "Convention on Biological Diversity",
                 "https://www.cbd.int", "Convention sur la diversité biologique",
                 "Convenio sobre la Diversidad Biológica", "cbd", 6,
                 uuid="08609c37-86bc-458c-8f60-8c7365e2886e"),
        _profile("cartagena", "Cartagena Protocol on Biosafety",
                 "Cartagena Protocol on Biosafety to the Convention on Biological Diversity",
                 "https://bch.cbd.int", "Protocole de Cartagena sur la prévention des risques "
                 "biotechnologiques", "Protocolo de Cartagena sobre Seguridad de la Biotecnología",
                 "cartagena", 1, body="mop"),
        _profile("nagoya", "Nagoya Protocol", "Nagoya Protocol on Access to Genetic Resources and "
                 "the Fair and Equitable Sharing of Benefits Arising from their Utilization",
                 "https://absch.cbd.int", "Protocole de Nagoya", "Protocolo de Nagoya", "nagoya",
                 1, body="mop"),
        _profile("cms", "Convention on Migratory Species", "Convention on the Conservation of "
                 "Migratory Species of Wild Animals", "https://www.cms.int",
                 "Convention sur les espèces migratrices", "Convención sobre las Especies "
                 "Migratorias", "cms", 7, decision_type="resolution"),
        _profile("aewa", "AEWA", "Agreement on the Conservation of African-Eurasian Migratory "
                 "Waterbirds", "https://www.unep-aewa.org", "Accord sur les oiseaux d'eau "
                 "migrateurs d'Afrique-Eurasie", "Acuerdo sobre aves acuáticas migratorias "
                 "afroeuroasiáticas", "aewa", 2, body="mop", decision_type="resolution"),
        _profile("ramsar", "Ramsar Convention", "Convention on Wetlands of International "
                 "Importance especially as Waterfowl Habitat", "https://www.ramsar.org",
                 "Convention de Ramsar sur les zones humides", "Convención de Ramsar sobre los "
                 "Humedales", "ramsar", 8, decision_type="resolution", plan_type="nwp"),
        _profile("cites", "CITES", "Convention on International Trade in Endangered Species of "
                 "Wild Fauna and Flora", "https://cites.org", "Convention sur le commerce "
                 "international des espèces de faune et de flore sauvages menacées d'extinction",
                 "Convención sobre el Comercio Internacional de Especies Amenazadas de Fauna y "
                 "Flora Silvestres", "cites", 12, decision_type="resolution"),
        _profile("whc", "World Heritage Convention", "Convention Concerning the Protection of the "
                 "World Cultural and Natural Heritage", "https://whc.unesco.org",
                 "Convention du patrimoine mondial", "Convención del Patrimonio Mundial", "whc",
                 26, body="com"),
        _profile("itpgrfa", "Plant Treaty", "International Treaty on Plant Genetic Resources for "
                 "Food and Agriculture", "https://www.fao.org/plant-treaty",
                 "Traité international sur les ressources phytogénétiques pour l'alimentation et "
                 "l'agriculture", "Tratado Internacional sobre los Recursos Fitogenéticos para la "
                 "Alimentación y la Agricultura", "itpgrfa", 1, decision_type="resolution"),
        _profile("stockholm", "Stockholm Convention", "Stockholm Convention on Persistent "
                 "Organic Pollutants", "http://chm.pops.int", "Convention de Stockholm sur les "
                 "polluants organiques persistants", "Convenio de Estocolmo sobre Contaminantes "
                 "Orgánicos Persistentes", "SC", 1, plan_type="nip"),
        _profile("basel", "Basel Convention", "Basel Convention on the Control of Transboundary "
                 "Movements of Hazardous Wastes and their Disposal", "http://www.basel.int",
                 "Convention de Bâle", "Convenio de Basilea", "BC", 6, plan_type="nip"),
        _profile("rotterdam", "Rotterdam Convention", "Rotterdam Convention on the Prior Informed "
                 "Consent Procedure for Certain Hazardous Chemicals and Pesticides in "
                 "International Trade", "http://www.pic.int", "Convention de Rotterdam",
                 "Convenio de Rotterdam", "RC", 1, plan_type="nip"),
        _profile("unccd", "UNCCD", "United Nations Convention to Combat Desertification",
                 "https://www.unccd.int", "Convention des Nations Unies sur la lutte contre la "
                 "désertification", "Convención de las Naciones Unidas de Lucha contra la "
                 "Desertificación", "generic", 5, plan_type="nap"),
    )
}  # fmt: skip

#: (ISO2, ISO3, English name, capital, latitude, longitude)
COUNTRIES: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("AL", "ALB", "Albania", "Tirana", 41.33, 19.82),
    ("DZ", "DZA", "Algeria", "Algiers", 36.75, 3.06),
    ("AR", "ARG", "Argentina", "Buenos Aires", -34.6, -58.38),
    ("AU", "AUS", "Australia", "Canberra", -35.28, 149.13),
    ("AT", "AUT", "Austria", "Vienna", 48.21, 16.37),
    ("BD", "BGD", "Bangladesh", "Dhaka", 23.81, 90.41),
    ("BE", "BEL", "Belgium", "Brussels", 50.85, 4.35),
    ("BO", "BOL", "Bolivia (Plurinational State of)", "La Paz", -16.5, -68.15),
    ("BR", "BRA", "Brazil", "Brasília", -15.79, -47.88),
    ("CM", "CMR", "Cameroon", "Yaoundé", 3.85, 11.5),
    ("CA", "CAN", "Canada", "Ottawa", 45.42, -75.7),
    ("CL", "CHL", "Chile", "Santiago", -33.45, -70.67),
    ("CN", "CHN", "China", "Beijing", 39.9, 116.41),
    ("CO", "COL", "Colombia", "Bogotá", 4.71, -74.07),
    ("CR", "CRI", "Costa Rica", "San José", 9.93, -84.08),
    ("EC", "ECU", "Ecuador", "Quito", -0.18, -78.47),
    ("EG", "EGY", "Egypt", "Cairo", 30.04, 31.24),
    ("ET", "ETH", "Ethiopia", "Addis Ababa", 9.03, 38.74),
    ("FJ", "FJI", "Fiji", "Suva", -18.14, 178.44),
    ("FI", "FIN", "Finland", "Helsinki", 60.17, 24.94),
    ("FR", "FRA", "France", "Paris", 48.86, 2.35),
    ("DE", "DEU", "Germany", "Bonn", 50.73, 7.1),
    ("GH", "GHA", "Ghana", "Accra", 5.6, -0.19),
    ("HU", "HUN", "Hungary", "Budapest", 47.5, 19.04),
    ("IN", "IND", "India", "New Delhi", 28.61, 77.21),
    ("ID", "IDN", "Indonesia", "Jakarta", -6.21, 106.85),
    ("JP", "JPN", "Japan", "Nagoya", 35.18, 136.91),
    ("KE", "KEN", "Kenya", "Nairobi", -1.29, 36.82),
    ("KR", "KOR", "Republic of Korea", "Pyeongchang", 37.37, 128.39),
    ("MG", "MDG", "Madagascar", "Antananarivo", -18.88, 47.51),
    ("MW", "MWI", "Malawi", "Lilongwe", -13.96, 33.77),
    ("MX", "MEX", "Mexico", "Cancún", 21.16, -86.85),
    ("MA", "MAR", "Morocco", "Rabat", 34.02, -6.83),
    ("NP", "NPL", "Nepal", "Kathmandu", 27.72, 85.32),
    ("NL", "NLD", "Netherlands", "The Hague", 52.08, 4.3),
    ("NZ", "NZL", "New Zealand", "Wellington", -41.29, 174.78),
    ("NO", "NOR", "Norway", "Trondheim", 63.43, 10.39),
    ("PE", "PER", "Peru", "Lima", -12.05, -77.04),
    ("PH", "PHL", "Philippines", "Manila", 14.6, 120.98),
    ("RO", "ROU", "Romania", "Bucharest", 44.43, 26.1),
    ("SN", "SEN", "Senegal", "Dakar", 14.72, -17.47),
    ("ZA", "ZAF", "South Africa", "Johannesburg", -26.2, 28.05),
    ("ES", "ESP", "Spain", "Madrid", 40.42, -3.7),
    ("SE", "SWE", "Sweden", "Stockholm", 59.33, 18.07),
    ("CH", "CHE", "Switzerland", "Geneva", 46.2, 6.14),
    ("TZ", "TZA", "United Republic of Tanzania", "Dodoma", -6.16, 35.75),
    ("TH", "THA", "Thailand", "Bangkok", 13.76, 100.5),
    ("UG", "UGA", "Uganda", "Kampala", 0.35, 32.58),
    ("GB", "GBR", "United Kingdom of Great Britain and Northern Ireland", "London", 51.51, -0.13),
    ("UY", "URY", "Uruguay", "Punta del Este", -34.96, -54.95),
    ("VN", "VNM", "Viet Nam", "Hanoi", 21.03, 105.85),
    ("ZM", "ZMB", "Zambia", "Lusaka", -15.39, 28.32),
)

#: ISO 3166-1 alpha-2 -> alpha-3 for :data:`COUNTRIES`.
ISO3: dict[str, str] = {c[0]: c[1] for c in COUNTRIES}

# (key, English title, French title, Spanish title, InforMEA glossary term, noun phrase)
_TOPICS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("protected", "Protected areas", "Aires protégées", "Áreas protegidas", "Protected area",
     "protected areas"),
    ("invasive", "Invasive alien species", "Espèces exotiques envahissantes",
     "Especies exóticas invasoras", "Invasive alien species", "invasive alien species"),
    ("sustainable", "Sustainable use of biodiversity",
     "Utilisation durable de la diversité biologique",
     "Utilización sostenible de la diversidad biológica", "Sustainable use", "sustainable use"),
    ("finance", "Resource mobilization and the financial mechanism",
     "Mobilisation des ressources et mécanisme de financement",
     "Movilización de recursos y mecanismo financiero", "Financial resources",
     "resource mobilization"),
    ("capacity", "Capacity-building and technical cooperation",
     "Renforcement des capacités et coopération technique",
     "Creación de capacidad y cooperación técnica", "Capacity building", "capacity-building"),
    ("pollution", "Pollution, including nutrients and plastics",
     "Pollution, y compris les nutriments et les plastiques",
     "Contaminación, incluidos los nutrientes y los plásticos", "Pollution", "pollution"),
    ("wetlands", "Conservation and wise use of wetlands",
     "Conservation et utilisation rationnelle des zones humides",
     "Conservación y uso racional de los humedales", "Wetlands", "wetlands"),
    ("migratory", "Migratory species and ecological connectivity",
     "Espèces migratrices et connectivité écologique",
     "Especies migratorias y conectividad ecológica", "Migratory species", "migratory species"),
    ("trade", "Trade in wild fauna and flora", "Commerce de la faune et de la flore sauvages",
     "Comercio de fauna y flora silvestres", "Trade", "wildlife trade"),
    ("genetic", "Access to genetic resources and benefit-sharing",
     "Accès aux ressources génétiques et partage des avantages",
     "Acceso a los recursos genéticos y participación en los beneficios", "Genetic resources",
     "access and benefit-sharing"),
    ("knowledge", "Traditional knowledge and customary sustainable use",
     "Connaissances traditionnelles et utilisation coutumière durable",
     "Conocimientos tradicionales y utilización consuetudinaria sostenible",
     "Traditional knowledge", "traditional knowledge"),
    ("awareness", "Communication, education and public awareness",
     "Communication, éducation et sensibilisation du public",
     "Comunicación, educación y conciencia pública", "Public awareness", "public awareness"),
    ("forests", "Forest biodiversity", "Diversité biologique des forêts",
     "Diversidad biológica forestal", "Forests", "forest biodiversity"),
    ("marine", "Marine and coastal biodiversity", "Diversité biologique marine et côtière",
     "Diversidad biológica marina y costera", "Marine biodiversity", "marine biodiversity"),
    ("climate", "Biodiversity and climate change",
     "Diversité biologique et changements climatiques",
     "Diversidad biológica y cambio climático", "Climate change", "climate change"),
    ("agriculture", "Plant genetic resources for food and agriculture",
     "Ressources phytogénétiques pour l'alimentation et l'agriculture",
     "Recursos fitogenéticos para la alimentación y la agricultura", "Agricultural biodiversity",
     "plant genetic resources"),
    ("species", "Conservation of threatened species", "Conservation des espèces menacées",
     "Conservación de especies amenazadas", "Endangered species", "threatened species"),
    ("chemicals", "Persistent organic pollutants and hazardous chemicals",
     "Polluants organiques persistants et produits chimiques dangereux",
     "Contaminantes orgánicos persistentes y productos químicos peligrosos",
     "Hazardous substances", "hazardous chemicals"),
    ("wastes", "Environmentally sound management of wastes",
     "Gestion écologiquement rationnelle des déchets",
     "Manejo ambientalmente racional de los desechos", "Waste management", "hazardous wastes"),
    ("strategy", "Strategic plan and national biodiversity strategies",
     "Plan stratégique et stratégies nationales pour la biodiversité",
     "Plan estratégico y estrategias nacionales en materia de biodiversidad",
     "National planning", "national strategies and action plans"),
    ("incentives", "Incentive measures", "Mesures d'incitation", "Medidas de incentivo",
     "Incentive measures", "incentive measures"),
    ("restoration", "Ecosystem restoration", "Restauration des écosystèmes",
     "Restauración de ecosistemas", "Ecosystem restoration", "ecosystem restoration"),
    ("science", "Scientific assessments and indicators",
     "Évaluations scientifiques et indicateurs", "Evaluaciones científicas e indicadores",
     "Scientific assessment", "indicators and monitoring"),
    ("heritage", "State of conservation of World Heritage properties",
     "État de conservation des biens du patrimoine mondial",
     "Estado de conservación de los bienes del patrimonio mundial", "World heritage",
     "the state of conservation of properties"),
    ("procedure", "Administrative and budgetary matters",
     "Questions administratives et budgétaires", "Cuestiones administrativas y presupuestarias",
     "Institutional arrangements", "the programme of work and budget"),
)  # fmt: skip

# Operative paragraphs per topic; ``{country}``, ``{city}`` and ``{year}`` are filled in.
_PHRASES: dict[str, tuple[str, ...]] = {
    "protected": (
        "URGES Parties to expand and strengthen systems of terrestrial and marine protected "
        "areas that are effectively and equitably managed, ecologically representative and "
        "well connected;",
        "INVITES Parties to integrate protected areas into the wider landscapes and seascapes "
        "and to report on progress towards conserving at least 17 per cent of terrestrial and "
        "inland water areas and 10 per cent of coastal and marine areas;",
        "ENCOURAGES Parties to carry out management effectiveness evaluations of protected "
        "areas and to recognize other effective area-based conservation measures;",
    ),
    "invasive": (
        "URGES Parties to identify and prioritize invasive alien species and their pathways of "
        "introduction, and to control or eradicate priority species;",
        "INVITES Parties to put in place measures to manage pathways in order to prevent the "
        "introduction and establishment of invasive alien species, in particular on islands;",
        "WELCOMES the guidance on managing risks associated with the introduction of alien "
        "species as pets, aquarium and terrarium species, and as live bait and live food;",
    ),
    "sustainable": (
        "ENCOURAGES Parties to ensure that the use of wild species is sustainable, legal and "
        "safe, and that overexploitation of harvested populations is avoided;",
        "CALLS UPON Parties to take steps to achieve sustainable production and consumption "
        "and to keep the impacts of the use of natural resources within safe ecological limits;",
        "URGES Parties to manage areas under agriculture, aquaculture and forestry sustainably, "
        "ensuring the conservation of biodiversity;",
    ),
    "finance": (
        "URGES Parties to mobilize financial resources from all sources and to substantially "
        "increase international financial flows to developing country Parties;",
        "INVITES the Global Environment Facility to provide adequate and timely financial "
        "support to eligible Parties for the implementation of their national action plans;",
        "WELCOMES the voluntary contributions received to the trust funds and APPEALS to donors "
        "to continue supporting the participation of developing countries;",
    ),
    "capacity": (
        "REQUESTS the Secretariat, subject to the availability of resources, to organize "
        "regional capacity-building workshops and to develop training materials for national "
        "focal points;",
        "ENCOURAGES Parties to strengthen technical and scientific cooperation and the transfer "
        "of technology, including through South-South and triangular cooperation;",
        "INVITES relevant organizations to support capacity-building and the development of "
        "national institutions for the implementation of the Convention;",
    ),
    "pollution": (
        "URGES Parties to bring pollution, including from excess nutrients, to levels that are "
        "not detrimental to ecosystem function and biodiversity;",
        "EXPRESSES concern about the impacts of marine debris and plastic pollution on marine "
        "and coastal biodiversity and URGES Parties to reduce the release of plastics;",
        "ENCOURAGES Parties to address the impacts of pesticides and other agrochemicals on "
        "pollinators and soil biodiversity;",
    ),
    "wetlands": (
        "URGES Contracting Parties to designate additional Wetlands of International Importance "
        "and to maintain the ecological character of sites already listed;",
        "CALLS UPON Contracting Parties to integrate the wise use of wetlands into water "
        "resources management and river basin planning;",
        "ENCOURAGES Contracting Parties to restore degraded peatlands, mangroves and other "
        "wetlands to enhance their contribution to climate change mitigation and adaptation;",
    ),
    "migratory": (
        "URGES Parties to identify and protect critical sites and ecological networks along "
        "the flyways of migratory waterbirds;",
        "CALLS UPON Parties to avoid and mitigate the impacts of power lines, wind farms and "
        "other infrastructure on migratory species;",
        "URGES Parties to eliminate the illegal killing, taking and trade of migratory birds;",
        "REQUESTS Range States to implement the concerted actions for migratory sharks, marine "
        "turtles and small cetaceans;",
    ),
    "trade": (
        "URGES Parties to strengthen the enforcement of legislation regulating international "
        "trade in specimens of species listed in the Appendices and to make non-detriment "
        "findings before issuing export permits;",
        "RECOMMENDS that Parties adopt measures to combat wildlife crime and illegal trade in "
        "ivory, rhinoceros horn and pangolin specimens;",
        "INSTRUCTS the Secretariat to analyse the annual illegal trade reports and to report to "
        "the Standing Committee;",
    ),
    "genetic": (
        "URGES Parties to take legislative, administrative or policy measures to ensure the "
        "fair and equitable sharing of benefits arising from the utilization of genetic "
        "resources;",
        "INVITES Parties to publish their permits on the Access and Benefit-sharing "
        "Clearing-House as internationally recognized certificates of compliance;",
        "ENCOURAGES Parties to maintain the genetic diversity of cultivated plants, of farmed "
        "and domesticated animals and of their wild relatives;",
    ),
    "knowledge": (
        "URGES Parties to respect, preserve and maintain the traditional knowledge, innovations "
        "and practices of indigenous peoples and local communities;",
        "INVITES Parties to ensure the full and effective participation of indigenous peoples "
        "and local communities, with their free, prior and informed consent;",
        "ENCOURAGES Parties to recognize and support territories and areas conserved by "
        "indigenous peoples and local communities and their customary sustainable use;",
    ),
    "awareness": (
        "ENCOURAGES Parties to raise awareness of the values of biodiversity and of the steps "
        "people can take to conserve and use it sustainably;",
        "REQUESTS the Secretariat to continue implementing the communication strategy and to "
        "make outreach materials available in all official languages;",
    ),
    "forests": (
        "URGES Parties to at least halve the rate of loss of natural habitats, including "
        "forests, and to significantly reduce degradation and fragmentation;",
        "ENCOURAGES Parties to promote sustainable forest management and to combat illegal "
        "logging and associated trade;",
    ),
    "marine": (
        "URGES Parties to manage and harvest fish and invertebrate stocks and aquatic plants "
        "sustainably, legally and applying ecosystem-based approaches;",
        "WELCOMES the descriptions of ecologically or biologically significant marine areas and "
        "ENCOURAGES their use in marine spatial planning;",
        "EXPRESSES concern about the vulnerability of coral reefs to climate change and ocean "
        "acidification;",
    ),
    "climate": (
        "ENCOURAGES Parties to implement ecosystem-based approaches to climate change adaptation, "
        "mitigation and disaster risk reduction;",
        "URGES Parties to minimize anthropogenic pressures on coral reefs and other vulnerable "
        "ecosystems affected by climate change or ocean acidification;",
        "INVITES Parties to enhance the contribution of biodiversity to carbon stocks through "
        "conservation and restoration;",
    ),
    "agriculture": (
        "URGES Contracting Parties to promote the conservation and sustainable use of plant "
        "genetic resources for food and agriculture, including on-farm management;",
        "INVITES Contracting Parties to place material in the Multilateral System and to "
        "strengthen national genebanks;",
        "CALLS UPON Contracting Parties to take measures to realize Farmers' Rights;",
    ),
    "species": (
        "URGES Parties to prevent the extinction of known threatened species and to improve the "
        "conservation status of those most in decline;",
        "ADOPTS the single species action plans annexed to the present resolution and CALLS FOR "
        "their implementation by Range States;",
        "REQUESTS the Scientific Council to review the conservation status of the species "
        "listed in the Appendices;",
    ),
    "chemicals": (
        "URGES Parties to eliminate the production and use of the chemicals listed in Annex A "
        "and to restrict the use of DDT to disease vector control;",
        "DECIDES to amend Annex A to the Convention to list the chemical recommended by the "
        "Persistent Organic Pollutants Review Committee;",
        "ENCOURAGES Parties to review and update their national implementation plans and to "
        "notify final regulatory actions for banned or severely restricted chemicals;",
        "INVITES Parties to submit import responses for the chemicals listed in Annex III;",
    ),
    "wastes": (
        "ADOPTS the technical guidelines on the environmentally sound management of wastes "
        "consisting of, containing or contaminated with persistent organic pollutants;",
        "URGES Parties to prevent and combat illegal traffic in hazardous wastes and other "
        "wastes, including electrical and electronic waste;",
        "ENCOURAGES Parties to minimize the generation of hazardous wastes and plastic waste at "
        "source;",
    ),
    "strategy": (
        "URGES Parties to review and update their national biodiversity strategies and action "
        "plans and to adopt them as policy instruments;",
        "INVITES Parties to set national targets using the Strategic Plan as a flexible "
        "framework and to submit their national reports in a timely manner;",
        "ENCOURAGES Parties to integrate biodiversity values into national and local "
        "development and poverty reduction strategies and into national accounting;",
    ),
    "incentives": (
        "URGES Parties to eliminate, phase out or reform incentives, including subsidies, "
        "harmful to biodiversity, and to develop positive incentives for its conservation;",
        "INVITES Parties to apply tools for the valuation of biodiversity and ecosystem "
        "services in decision-making;",
    ),
    "restoration": (
        "URGES Parties to restore at least 15 per cent of degraded ecosystems, thereby "
        "contributing to climate change mitigation and adaptation and to combating "
        "desertification;",
        "ENCOURAGES Parties to restore and safeguard ecosystems that provide essential "
        "services, including water, health and livelihoods, taking into account the needs of "
        "women and the poor;",
    ),
    "science": (
        "INVITES Parties to improve, share and apply knowledge, the science base and "
        "technologies relating to biodiversity, its values, functioning and status;",
        "REQUESTS the subsidiary scientific body to develop indicators for monitoring progress "
        "and to report to the next meeting;",
    ),
    "heritage": (
        "REQUESTS the State Party to submit to the World Heritage Centre an updated report on "
        "the state of conservation of the property by 1 February {year};",
        "URGES the State Party to halt mining and oil exploration within the property and its "
        "buffer zone;",
        "DECIDES to retain the property on the List of World Heritage in Danger;",
    ),
    "procedure": (
        "DECIDES to hold its next meeting in {city}, {country}, in {year};",
        "TAKES NOTE of the report of the Executive Secretary on the administration of the "
        "Convention and on the budget for the trust funds;",
        "EXPRESSES its gratitude to the Government of {country} for hosting the present meeting;",
        "APPROVES a core programme budget for the biennium {year}-{next_year};",
        "ELECTS the members of the Bureau for the intersessional period;",
        "REQUESTS the Secretariat to make the present decision available in all official "
        "languages of the United Nations;",
    ),
}

_LEADS = (
    "REQUESTS the Executive Secretary, subject to the availability of resources:",
    "INVITES Parties and other Governments:",
    "ENCOURAGES relevant organizations:",
)
_SUB_ITEMS = (
    "To compile and analyse information on {noun} submitted by Parties",
    "To organize regional workshops on {noun}, in collaboration with relevant organizations",
    "To update the guidance on {noun} in the light of new scientific information",
    "To identify gaps in national capacities relating to {noun}",
    "To cooperate with the secretariats of other biodiversity-related conventions on {noun}",
    "To report on progress to the next meeting of the Conference of the Parties",
)
_TREATY_TOPICS: dict[str, tuple[str, ...]] = {
    "cbd": ("protected", "invasive", "sustainable", "finance", "strategy", "incentives",
            "restoration", "marine", "forests", "knowledge", "climate", "science"),
    "cartagena": ("capacity", "science", "awareness", "finance"),
    "nagoya": ("genetic", "knowledge", "capacity", "awareness"),
    "cms": ("migratory", "species", "climate", "pollution", "marine"),
    "aewa": ("migratory", "wetlands", "species", "sustainable"),
    "ramsar": ("wetlands", "restoration", "climate", "awareness", "protected"),
    "cites": ("trade", "species", "sustainable", "capacity"),
    "whc": ("heritage", "protected", "forests", "marine"),
    "itpgrfa": ("agriculture", "genetic", "knowledge", "finance"),
    "stockholm": ("chemicals", "pollution", "capacity", "finance"),
    "basel": ("wastes", "pollution", "capacity"),
    "rotterdam": ("chemicals", "trade", "capacity"),
}  # fmt: skip
_ALL_TOPICS = tuple(t[0] for t in _TOPICS if t[0] != "procedure")
_TOPIC = {t[0]: t for t in _TOPICS}

_FIRST = ("Maria", "Jean", "Amina", "Kwame", "Sofia", "Li", "Ana", "Pierre", "Fatima", "Olga",
          "Rahul", "Silvia", "Yira", "Tomás", "Akosua", "Hiroshi", "Ingrid", "Mohamed", "Nadia",
          "Carlos", "Eva", "Joseph", "Nguyen", "Aroha")  # fmt: skip
_LAST = ("Silva", "Dupont", "Diallo", "Mensah", "Rossi", "Wang", "Pereira", "Martin", "Haddad",
         "Ivanova", "Sharma", "Daim", "Nanyama", "García", "Owusu", "Tanaka", "Larsen", "Benali",
         "Kovács", "Moreno", "Novak", "Banda", "Tran", "Ngata")  # fmt: skip
_PREFIXES = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "H.E.")
_POSITIONS = ("Director", "Deputy Director General", "Senior Environmental Officer",
              "Head of Biodiversity Unit", "Programme Officer", "Permanent Secretary",
              "Director of Environmental Affairs", "Chief Conservator of Wildlife")  # fmt: skip
_INSTITUTIONS = ("Ministry of Environment", "Ministry of Environment and Natural Resources",
                 "Environmental Protection Agency", "National Parks and Wildlife Service",
                 "Ministry of Agriculture", "National Public Health Centre",
                 "Environmental Affairs Department")  # fmt: skip
_DEPARTMENTS = (
    "Biodiversity Directorate",
    "Department of Nature Conservation",
    "National Chemical Safety Directorate",
    "International Cooperation Unit",
    None,
)
_CONTACT_TYPES = {"cbd": "CBD National Focal Point", "nagoya": "ABS National Focal Point",
                  "cartagena": "Biosafety Clearing-House Focal Point",
                  "rotterdam": "Designated National Authority for chemicals",
                  "stockholm": "Official Contact Point", "basel": "Competent Authority",
                  "cites": "Management Authority",
                  "ramsar": "Administrative Authority"}  # fmt: skip
_FAMILIES = (("cbd", "nagoya", "cartagena"), ("stockholm", "basel", "rotterdam"),
             ("cms", "aewa"), ("ramsar", "whc"), ("cites", "itpgrfa"))  # fmt: skip
#: CBD-style role names of a contact per treaty: (when primary, otherwise).
_CBD_ROLES = {
    "cbd": (("CBD Primary NFP",), ("SBSTTA NFP", "CHM NFP")),
    "cartagena": (("Cartagena Protocol Primary NFP", "BCH NFP"), ("BCH NFP",)),
    "nagoya": (("Nagoya Protocol Primary NFP",), ("ABS Competent National Authority",)),
}
_SITES = (
    ("whc", "Galápagos Islands", "Îles Galápagos", "EC", -0.81667, -91.0),
    ("whc", "City of Quito", "Ville de Quito", "EC", -0.003888889, -78.5),
    ("whc", "Serengeti National Park", "Parc national de Serengeti", "TZ", -2.5, 34.83),
    ("whc", "Great Barrier Reef", "Grande Barrière", "AU", -18.28, 147.7),
    ("whc", "Iguazu National Park", "Parc national Iguazú", "AR", -25.68, -54.45),
    ("whc", "Sundarbans National Park", "Parc national des Sundarbans", "IN", 21.95, 88.9),
    ("whc", "Rainforests of the Atsinanana", "Forêts humides de l'Atsinanana", "MG", -14.08,
     49.67),
    ("whc", "Ha Long Bay", "Baie d'Ha Long", "VN", 20.91, 107.18),
    ("ramsar", "Djoudj National Bird Sanctuary", "Parc national des oiseaux du Djoudj", "SN",
     16.37, -16.27),
    ("ramsar", "Lake Naivasha", "Lac Naivasha", "KE", -0.77, 36.36),
    ("ramsar", "Doñana", "Doñana", "ES", 36.98, -6.44),
    ("ramsar", "Camargue", "Camargue", "FR", 43.5, 4.5),
    ("ramsar", "Lago Titicaca", "Lac Titicaca", "PE", -15.8, -69.4),
    ("ramsar", "Pantanal Matogrossense", "Pantanal du Mato Grosso", "BR", -17.7, -57.4),
    ("ramsar", "Kakadu National Park", "Parc national de Kakadu", "AU", -12.5, 132.5),
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _roman(number: int) -> str:
    """Upper-case Roman numeral of a positive integer."""
    out = []
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def _ordinal(number: int) -> str:
    """``1st``, ``2nd``, ``13th``..."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


def _ml(en: str, fr: str | None = None, es: str | None = None) -> list[dict[str, str]]:
    """A multilingual value: English first, then the other given languages."""
    pairs = (("en", en), ("fr", fr), ("es", es))
    return [{"language": lang, "value": value} for lang, value in pairs if value]


def _file(url: str, language: str | None, mime: str = "application/pdf") -> dict[str, Any]:
    return {"url": url, "mimeType": mime, "language": language, "filename": url.rsplit("/", 1)[-1]}


def _number(style: str, session: int, n: int, year: int, rng: random.Random) -> str:
    """A decision number in the style of the given convention."""
    styles: dict[str, Callable[[], str]] = {
        "cbd": lambda: f"{_roman(session)}/{n}",
        "cartagena": lambda: f"CP-{session}/{n}" if year > 2016 else f"BS-{_roman(session)}/{n}",
        "nagoya": lambda: f"NP-{session}/{n}",
        "ramsar": lambda: f"{_roman(session)}.{n}" if n % 3 else f"Res. {_roman(session)}.{n}",
        "cites": lambda: _cites_number(session, n, rng),
        "cms": lambda: f"Res.{session}.{n}",
        "aewa": lambda: f"Resolution {session}.{n}",
        "whc": lambda: f"{session} COM {rng.choice(('7A', '7B', '8B', '8E'))}.{n}",
        "itpgrfa": lambda: f"Resolution {n}/{year}",
    }
    if style in ("SC", "BC", "RC"):
        return f"POPRC-{session}/{n}" if style == "SC" and n % 7 == 0 else f"{style}-{session}/{n}"
    return styles.get(style, lambda: f"{session}/{n}")()


def _cites_number(session: int, n: int, rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"Conf. {session}.{n} (Rev. CoP{session + rng.randint(1, 6)})"
    return f"Conf. {session}.{n}"


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


@dataclass
class _Session:
    """A main-body meeting that decisions can point at."""

    meeting_id: str | None
    title: str
    session: int
    start: datetime
    url: str
    decisions: int = 0


class _Generator:
    """Builds one :class:`Dataset`; all randomness comes from one seeded ``random.Random``."""

    def __init__(self, treaties: Sequence[str], seed: int, start_year: int) -> None:
        self.rng = random.Random(seed)
        self.treaties = [TREATIES.get(t) or _generic_profile(t) for t in treaties]
        if not self.treaties:
            raise ValueError("generate_dataset needs at least one treaty")
        self.start = datetime(start_year, 1, 1, tzinfo=UTC)
        self.sessions: dict[str, list[_Session]] = {p.slug: [] for p in self.treaties}
        self.counters: dict[str, int] = {}
        self.data = Dataset()

    # -- shared bits ---------------------------------------------------------------------

    def new_id(self, profile: TreatyProfile, code: int) -> str:
        """A UUID, or a 24-hex CBD-style id for the CBD family."""
        if profile.slug in ("cbd", "nagoya", "cartagena"):
            self.counters[str(code)] = n = self.counters.get(str(code), 0) + 1
            return f"52000000cbd0{code:02x}{n:010x}"
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def when(self, after: datetime | None = None) -> datetime:
        """A second-precision UTC instant between ``after`` (or the start) and mid-2025."""
        low = after or self.start
        span = max(int((_LAST_DAY - low).total_seconds()), 1)
        return low + timedelta(seconds=self.rng.randrange(span))

    def updated(self, published: datetime) -> datetime | None:
        """``updated``: equal to ``published``, later, or missing."""
        roll = self.rng.random()
        if roll < 0.25:
            return published
        if roll < 0.35:
            return None
        return min(published + timedelta(seconds=self.rng.randrange(1, 4 * 365 * 86400)), _LAST_DAY)

    def country(self) -> tuple[str, str, str, str, float, float]:
        return self.rng.choice(COUNTRIES)

    def pick_treaty(self) -> TreatyProfile:
        return self.rng.choice(self.treaties)

    # -- entity sets ---------------------------------------------------------------------

    def treaty_records(self) -> None:
        for p in self.treaties:
            self.data["Treaties"][p.slug] = {
                "id": p.slug,
                "UUID": p.treaty_uuid,
                "url": f"https://www.informea.org/treaties/{p.slug}",
                "titleEnglish": p.title,
                "officialNameEnglish": p.official,
                "treatyWebsiteURL": p.website,
                "title": _ml(p.title, p.title_fr, p.title_es),
                "description": _ml(f"<p>The {p.official} is a multilateral environmental "
                                   f"agreement.</p>"),
            }  # fmt: skip

    def meeting(self, index: int, total: int) -> Record:
        p = self.treaties[index % len(self.treaties)]
        rank = index // len(self.treaties)
        main = self.rng.random() < 0.7 or not self.sessions[p.slug]
        start = self.start + timedelta(days=int(rank * 8000 / max(total // len(self.treaties), 1)))
        start += timedelta(days=self.rng.randrange(60), hours=9)
        record = self.meeting_core(p, start, main)
        if main:
            self.register_session(p, record)
        return record

    def meeting_core(self, p: TreatyProfile, start: datetime, main: bool) -> Record:
        iso2, _, name, city, lat, lon = self.country()
        session = p.session + len(self.sessions[p.slug])
        en, fr = _meeting_titles(p, session, main)
        record_id = self.new_id(p, 5)
        return {
            "id": record_id, "treaty": p.slug,
            "url": f"{p.website}/meetings/{record_id[:8]}",
            "start": start, "end": start + timedelta(days=self.rng.choice((1, 5, 10, 12))),
            **_meeting_media(p, record_id, main), "kind": "official",
            "type": (p.body if main else self.rng.choice(("subsidiary", "scc", "expert"))),
            "access": self.rng.choice(("public", "public", "invitation")),
            "status": "over" if start < _LAST_DAY else "confirmed",
            "location": self.rng.choice(("International Conference Centre", "Palais des Nations",
                                         "UN Campus", None)),
            "city": city, "country": iso2, "latitude": lat, "longitude": lon,
            "virtual": start.year in (2020, 2021) and self.rng.random() < 0.6,
            "updated": self.updated(start),
            "title": _ml(en, fr if self.rng.random() < 0.5 else None),
            "description": _ml(f"<p>{en}, held in {city}, {name}.</p>"),
        }  # fmt: skip

    def register_session(self, p: TreatyProfile, record: Record) -> None:
        session = p.session + len(self.sessions[p.slug])
        title = record["title"][0]["value"]
        item = _Session(record["id"], title, session, record["start"], record["url"])
        self.sessions[p.slug].append(item)

    def session_for(self, p: TreatyProfile) -> _Session:
        sessions = self.sessions[p.slug]
        if sessions and self.rng.random() > 0.05:
            return self.rng.choice(sessions)
        session = p.session + self.rng.randrange(12)
        en, _ = _meeting_titles(p, session, True)
        start = self.when()
        return _Session(None, en, session, start, f"{p.website}/meetings/{session}")

    def decision(self) -> Record:
        p = self.pick_treaty()
        meeting = self.session_for(p)
        meeting.decisions += 1
        number = _number(p.style, meeting.session, meeting.decisions, meeting.start.year, self.rng)
        topic = _TOPIC[self.decision_topic(p)]
        published = min(meeting.start + timedelta(days=self.rng.randrange(5, 200)), _LAST_DAY)
        record_id = self.new_id(p, 7)
        return {
            "id": record_id,
            "link": f"{p.website}/decisions/{record_id[:8]}",
            "type": self.decision_type(p),
            "status": self.rng.choice(("active",) * 8 + ("adopted", "retired", "amended")),
            "number": number, "treaty": p.slug,
            "published": published, "updated": self.updated(published),
            "meetingId": meeting.meeting_id,
            "meetingTitle": None if meeting.meeting_id and self.rng.random() < 0.6
            else meeting.title,
            "meetingUrl": meeting.url if self.rng.random() < 0.3 else None,
            "displayOrder": meeting.decisions,
            **self.decision_texts(p, topic, number, meeting.start.year),
        }  # fmt: skip

    def decision_topic(self, p: TreatyProfile) -> str:
        if self.rng.random() < 0.08:
            return "procedure"
        return self.rng.choice(_TREATY_TOPICS.get(p.slug, _ALL_TOPICS))

    def decision_type(self, p: TreatyProfile) -> str:
        if p.slug == "cites":
            return self.rng.choice(("resolution", "decision"))
        if p.style == "SC" and self.rng.random() < 0.1:
            return "recommendation"
        return p.decision_type

    def decision_texts(
        self, p: TreatyProfile, topic: tuple[str, ...], number: str, year: int
    ) -> Record:
        key, en, fr, es, term, _ = topic
        roll = self.rng.random()
        title = _ml(en, fr if roll < 0.4 else None, es if roll < 0.2 else None)
        slug = _SLUG_RE.sub("-", number.lower()).strip("-")
        languages = ["en"] + [lang for lang in ("fr", "es") if self.rng.random() < 0.4]
        return {
            "title": title,
            "longTitle": _ml(f"{number}. {en}") if self.rng.random() < 0.2 else [],
            "summary": _ml(f"<p>The decision addresses {topic[5]}.</p>")
            if self.rng.random() < 0.4 else [],
            "content": _ml(self.content(key, year)),
            "keywords": self.keywords(term),
            "files": [_file(f"{p.website}/doc/decisions/{slug}-{lang}.pdf", lang)
                      for lang in languages],
        }  # fmt: skip

    def keywords(self, term: str) -> list[dict[str, str]]:
        terms = [term] + [t[4] for t in self.rng.sample(_TOPICS, self.rng.randrange(0, 3))]
        return [{"namespace": _KEYWORD_NS, "term": t} for t in dict.fromkeys(terms)]

    def content(self, topic: str, year: int) -> str:
        """3 to 8 numbered operative paragraphs, some with ``(a)``-style sub-items."""
        count = self.rng.randint(3, 8)
        pool = list(_PHRASES[topic]) + [self.rng.choice(_PHRASES[self.rng.choice(_ALL_TOPICS)])]
        parts: list[str] = []
        for n in range(1, count + 1):
            parts.append(self.paragraph(n, pool, topic, year))
        return "".join(parts)

    def paragraph(self, n: int, pool: list[str], topic: str, year: int) -> str:
        if self.rng.random() < 0.15:
            return self.sub_items(n, _TOPIC[topic][5])
        if n > 2 and self.rng.random() < 0.3:
            text = self.rng.choice(_PHRASES["procedure"])
        else:
            text = self.rng.choice(pool)
        if "{" in text:
            _, _, name, city, _, _ = self.country()
            text = text.format(city=city, country=name, year=year + 2, next_year=year + 3)
        return f"<p>{n}. {text}</p>"

    def sub_items(self, n: int, noun: str) -> str:
        items = self.rng.sample(_SUB_ITEMS, self.rng.randint(2, 4))
        letters = "abcdefgh"
        body = "".join(
            f"<p>({letters[i]}) {item.format(noun=noun)}{';' if i < len(items) - 1 else '.'}</p>"
            for i, item in enumerate(items)
        )
        return f"<p>{n}. {self.rng.choice(_LEADS)}</p>{body}"

    def contact(self) -> Record:
        iso2, _, name, city, _, _ = self.country()
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        treaties = self.contact_treaties()
        tld = "uk" if iso2 == "GB" else iso2.lower()
        record: Record = {
            "id": self.new_id(treaties[0], 8), "country": iso2,
            "prefix": self.rng.choice(_PREFIXES), "firstName": first, "lastName": last,
            "position": self.rng.choice(_POSITIONS),
            "institution": self.rng.choice(_INSTITUTIONS),
            "department": self.rng.choice(_DEPARTMENTS),
            "type": _CONTACT_TYPES.get(treaties[0].slug, "Primary"),
            "address": f"{self.rng.randint(1, 200)} Environment Road, {city}, {name}",
            "email": f"{first.lower()}.{last.lower()}@environment.gov.{tld}".replace(" ", ""),
            "phoneNumber": f"+{self.rng.randint(1, 299)} {self.rng.randint(100, 999)} "
                           f"{self.rng.randint(1000, 9999)}",
            "fax": None if self.rng.random() < 0.6 else f"+{self.rng.randint(1, 299)} 555 0100",
            "primary": int(self.rng.random() < 0.5),
            "updated": self.updated(self.when()),
            "treaties": [p.slug for p in treaties],
        }  # fmt: skip
        record["roles"] = _roles([p.slug for p in treaties], bool(record["primary"]))
        return record

    def contact_treaties(self) -> list[TreatyProfile]:
        """One to three treaties, preferably of the same family (BRS, CBD, CMS...)."""
        first = self.pick_treaty()
        family = next((f for f in _FAMILIES if first.slug in f), ())
        kin = [p for p in self.treaties if p.slug in family and p is not first]
        others = kin or [p for p in self.treaties if p is not first]
        extra = self.rng.sample(others, min(self.rng.randint(0, 2), len(others)))
        return [first, *extra]

    def report(self) -> Record:
        p = self.pick_treaty()
        iso2, _, name, _, _, _ = self.country()
        submission = self.when().replace(hour=0, minute=0, second=0)
        cycle = self.rng.randint(3, 7)
        record_id = self.new_id(p, 9)
        title = f"{_ordinal(cycle)} National Report of {name}"
        return {
            "id": record_id, "treaty": p.slug, "country": iso2, "submission": submission,
            "url": f"{p.website}/reports/{record_id[:8]}", "updated": self.updated(submission),
            "title": _ml(title, f"{cycle}e rapport national : {name}"
                         if self.rng.random() < 0.3 else None),
            "files": [_file(f"{p.website}/doc/reports/nr{cycle}-{iso2.lower()}-en.pdf", "en")],
        }  # fmt: skip

    def plan(self) -> Record:
        p = self.pick_treaty()
        iso2, _, name, _, _, _ = self.country()
        submission = self.when().replace(hour=0, minute=0, second=0)
        revision = self.rng.randint(1, 3)
        kind = {"nbsap": "National Biodiversity Strategy and Action Plan",
                "nip": "National Implementation Plan", "nwp": "National Wetland Policy",
                "nap": "National Action Programme"}[p.plan_type]  # fmt: skip
        languages = ["en"] if self.rng.random() < 0.7 else ["en", "fr"]
        return {
            "id": self.new_id(p, 10), "treaty": p.slug, "country": iso2, "type": p.plan_type,
            "url": f"{p.website}/plans/{iso2.lower()}-{revision}", "submission": submission,
            "updated": self.updated(submission),
            "title": _ml(f"{kind} of {name}" + (f" (revision {revision})" if revision > 1 else "")),
            "files": [_file(f"{p.website}/doc/plans/{p.plan_type}-{iso2.lower()}-{revision}-"
                            f"{lang}.pdf", lang) for lang in languages],
        }  # fmt: skip

    def site(self, index: int) -> Record:
        kinds = [p.slug for p in self.treaties if p.slug in ("whc", "ramsar")] or ["whc", "ramsar"]
        kind = kinds[index % len(kinds)]
        base = [s for s in _SITES if s[0] == kind]
        _, en, fr, iso2, lat, lon = base[(index // len(kinds)) % len(base)]
        rounds = index // (len(kinds) * len(base))
        site_id = str(index + 1 if kind == "whc" else 2000 + index)
        suffix = f" ({_roman(rounds + 1)})" if rounds else ""
        updated = self.when()
        url = (f"https://whc.unesco.org/en/list/{site_id}" if kind == "whc"
               else f"https://rsis.ramsar.org/ris/{site_id}")  # fmt: skip
        return {
            "id": site_id, "type": kind, "country": iso2, "treaty": kind, "url": url,
            "latitude": round(lat + rounds * 0.01, 6), "longitude": lon,
            "updated": updated, "name": _ml(en + suffix, fr + suffix),
        }  # fmt: skip


def _generic_profile(slug: str) -> TreatyProfile:
    """A plain profile for a treaty id this module has no reference data for."""
    title = slug.upper()
    return TreatyProfile(slug, title, title, f"https://{slug.lower()}.example.org", title, title,
                         "generic", 1)  # fmt: skip


def _meeting_titles(p: TreatyProfile, session: int, main: bool) -> tuple[str, str]:
    """English and French titles of a meeting."""
    if not main:
        return (f"{_ordinal(session)} meeting of the Standing Committee",
                f"{session}e réunion du Comité permanent")  # fmt: skip
    if p.body == "com":
        return (f"{_ordinal(session)} session of the World Heritage Committee",
                f"{session}e session du Comité du patrimoine mondial")  # fmt: skip
    if p.body == "mop":
        return (f"{_ordinal(session)} Session of the Meeting of the Parties",
                f"{session}e session de la Réunion des Parties")  # fmt: skip
    return (f"{_ordinal(session)} Meeting of the Conference of the Parties",
            f"{session}e réunion de la Conférence des Parties")  # fmt: skip


def _roles(treaties: list[str], primary: bool) -> list[dict[str, Any]]:
    """CBD-style ``roles`` for the CBD-family treaties of a contact (a role entry may carry
    several names, as ``Cartagena Protocol Primary NFP`` and ``BCH NFP``)."""
    return [
        {"treaty": t, "roles": list(_CBD_ROLES[t][0 if primary else 1]), "order": str(i + 1)}
        for i, t in enumerate(treaties)
        if t in _CBD_ROLES
    ]


def _meeting_media(p: TreatyProfile, record_id: str, main: bool) -> Record:
    """``repetition``, ``imageUrl`` and ``imageCopyright`` of a meeting, as real toolkits send
    them for some meetings (derived from the id, so the seeded random stream is unchanged)."""
    roll = zlib.crc32(record_id.encode())
    image = f"{p.website}/images/meetings/{record_id[:8]}.jpg" if roll % 2 == 0 else None
    return {
        "repetition": "yearly" if not main and roll % 3 == 0 else None,
        "imageUrl": image,
        "imageCopyright": f"© {p.title} Secretariat" if image and roll % 4 == 0 else None,
    }


def generate_dataset(
    *,
    treaties: Sequence[str],
    seed: int = 0,
    decisions: int,
    meetings: int,
    contacts: int,
    reports: int,
    plans: int,
    sites: int = 0,
    start_year: int = 2002,
) -> Dataset:
    """Build a deterministic dataset: the same arguments always give the same records.

    :param treaties: treaty ids (``cbd``, ``ramsar``, ``stockholm``...); unknown ids get a
        generic profile.
    :param sites: WHC/Ramsar sites, attributed to ``whc``/``ramsar`` when those are among
        ``treaties`` (otherwise to both anyway).
    :raises ValueError: when ``treaties`` is empty.
    """
    gen = _Generator(treaties, seed, start_year)
    gen.treaty_records()
    _fill(gen.data["Meetings"], (gen.meeting(i, meetings) for i in range(meetings)))
    _fill(gen.data["Decisions"], (gen.decision() for _ in range(decisions)))
    _fill(gen.data["Contacts"], (gen.contact() for _ in range(contacts)))
    _fill(gen.data["CountryReports"], (gen.report() for _ in range(reports)))
    _fill(gen.data["NationalPlans"], (gen.plan() for _ in range(plans)))
    _fill(gen.data["Sites"], (gen.site(i) for i in range(sites)))
    return gen.data


def _fill(target: dict[str, Record], records: Any) -> None:
    for record in records:
        target[record["id"]] = record


#: Treaties of :func:`demo_dataset`, served by :func:`harvester.demo.app.demo_providers`.
DEMO_TREATIES = ("stockholm", "basel", "rotterdam", "cms", "aewa", "ramsar", "whc", "cites",
                 "itpgrfa", "cbd", "nagoya", "cartagena")  # fmt: skip


def demo_dataset() -> Dataset:
    """A few hundred realistic records over twelve treaties, for ``make run``."""
    return generate_dataset(
        treaties=DEMO_TREATIES,
        seed=2024,
        decisions=120,
        meetings=40,
        contacts=80,
        reports=60,
        plans=30,
        sites=15,
    )
