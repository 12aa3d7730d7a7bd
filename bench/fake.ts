/**
 * Deterministic, realistic-looking benchmark data: every value comes from one seeded PRNG, so the
 * same seed gives byte-identical data sets (for cmfd's store and for the peer's SQLite file).
 */

/** sfc32: small, fast, good enough for test data; seeded through splitmix32. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

export type Rand = () => number;
export const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Picks index i with probability ∝ 1/(i+1)^s (Zipf), from a precomputed table. */
export function zipf(n: number, s = 1): (r: Rand) => number {
  const cdf: number[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) cdf.push((sum += 1 / (i + 1) ** s));
  return (r) => {
    const x = r() * sum;
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const FIRST_F = ["Anna", "Sophie", "Marie", "Laura", "Julia", "Lea", "Hannah", "Emma", "Mia", "Lena", "Katharina", "Sarah", "Johanna", "Clara", "Elisabeth", "Charlotte", "Isabella", "Olivia", "Amelia", "Chiara", "Giulia", "Camille", "Manon", "Inès", "Zoé", "Agnieszka", "Zofia", "Ingrid", "Astrid", "Maja"];
const FIRST_M = ["Alexander", "Maximilian", "Paul", "Leon", "Lukas", "Jonas", "Felix", "Elias", "Noah", "David", "Florian", "Tobias", "Sebastian", "Matthias", "Johannes", "Oliver", "George", "Harry", "Jack", "Lorenzo", "Matteo", "Francesco", "Louis", "Gabriel", "Hugo", "Jakub", "Mateusz", "Lars", "Erik", "Björn"];
const LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Smith", "Jones", "Taylor", "Brown", "Williams", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Nowak", "Kowalski", "Wiśniewski", "Johansson", "Andersson", "Van der Berg", "De Vries", "García", "Fernández", "González"];
const STREETS = ["Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße", "Birkenweg", "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Mozartgasse", "Mariahilfer Straße", "Landstraßer Hauptstraße", "High Street", "Station Road", "Church Lane", "Via Roma", "Via Garibaldi", "Rue de la Paix", "Avenue Victor Hugo", "ulica Marszałkowska", "Kungsgatan", "Keizersgracht", "Calle Mayor"];
/** city, zip pattern (# = digit), country, language, phone prefix */
const PLACES: readonly [string, string, string, string, string][] = [
  ["Berlin", "10###", "DE", "de", "+49 30"], ["Hamburg", "20###", "DE", "de", "+49 40"], ["München", "80###", "DE", "de", "+49 89"],
  ["Köln", "50###", "DE", "de", "+49 221"], ["Frankfurt am Main", "60###", "DE", "de", "+49 69"], ["Stuttgart", "70###", "DE", "de", "+49 711"],
  ["Wien", "1###", "AT", "de", "+43 1"], ["Salzburg", "50##", "AT", "de", "+43 662"], ["Graz", "80##", "AT", "de", "+43 316"],
  ["Zürich", "80##", "CH", "de_CH", "+41 44"], ["Basel", "40##", "CH", "de_CH", "+41 61"], ["Genève", "12##", "CH", "fr_CH", "+41 22"],
  ["London", "SW1A #AA", "GB", "en_GB", "+44 20"], ["Manchester", "M# #AB", "GB", "en_GB", "+44 161"], ["Milano", "201##", "IT", "it", "+39 02"],
  ["Roma", "001##", "IT", "it", "+39 06"], ["Paris", "750##", "FR", "fr", "+33 1"], ["Lyon", "6900#", "FR", "fr", "+33 4"],
  ["Warszawa", "00-###", "PL", "pl", "+48 22"], ["Kraków", "30-###", "PL", "pl", "+48 12"], ["Stockholm", "1## ##", "SE", "sv", "+46 8"],
  ["Amsterdam", "10## AB", "NL", "nl", "+31 20"], ["Madrid", "280##", "ES", "es", "+34 91"], ["Barcelona", "080##", "ES", "es", "+34 93"],
];
const DOMAINS = ["gmail.com", "gmx.de", "web.de", "outlook.com", "yahoo.com", "icloud.com", "t-online.de", "posteo.de", "proton.me", "example.org"];

const digits = (r: Rand, pattern: string) => pattern.replace(/#/g, () => String(int(r, 0, 9)));
const ascii = (s: string) =>
  s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss").replace(/ł/g, "l").toLowerCase().replace(/[^a-z]+/g, "-");

/** Customer fields in the default schema's field order (no id, segments or dates). */
export function fakeCustomerFields(r: Rand): Record<string, unknown> {
  const female = r() < 0.5;
  const firstname = pick(r, female ? FIRST_F : FIRST_M);
  const lastname = r() < 0.1 ? `${pick(r, LAST)}-${pick(r, LAST)}` : pick(r, LAST);
  const [city, zip, countryCode, language, phone] = pick(r, PLACES);
  const email = `${ascii(firstname)}.${ascii(lastname)}${int(r, 1, 9999)}@${pick(r, DOMAINS)}`;
  return {
    active: r() < 0.95,
    firstname,
    lastname,
    gender: r() < 0.02 ? "other" : female ? "female" : "male",
    birthdate: int(r, -7_300, 12_700) * 86_400, // 1950..2004, midnight UTC
    customerLanguage: language,
    street: `${pick(r, STREETS)} ${int(r, 1, 240)}${r() < 0.2 ? pick(r, ["a", "b", "/3", "/12"]) : ""}`,
    zip: digits(r, zip),
    city,
    countryCode,
    email,
    phone: `${phone} ${digits(r, "#".repeat(int(r, 6, 8)))}`,
  };
}

/** Activity types with realistic relative frequencies (first = most common). */
export const ACTIVITY_TYPES = ["page_view", "newsletter_open", "email_click", "login", "order", "cart_abandoned", "review", "support_ticket", "booking", "survey_answer"] as const;
export const activityType = zipf(ACTIVITY_TYPES.length, 1);

const PRODUCTS = ["SKU-1001", "SKU-1002", "SKU-2040", "SKU-3300", "SKU-4711", "SKU-5120", "SKU-7777", "SKU-9001"];
const CAMPAIGNS = ["spring-sale", "black-friday", "welcome-series", "winback-90d", "newsletter-weekly", "product-launch"];
const PAGES = ["/", "/shop", "/shop/shoes", "/shop/jackets", "/account", "/blog/how-to-choose", "/checkout", "/contact"];

export function fakeAttributes(r: Rand, type: string): Record<string, unknown> {
  switch (type) {
    case "order": {
      const items = Array.from({ length: int(r, 1, 4) }, () => ({ sku: pick(r, PRODUCTS), qty: int(r, 1, 3), price: int(r, 499, 19_999) / 100 }));
      return { orderId: `ORD-${int(r, 100_000, 999_999)}`, currency: "EUR", total: Math.round(items.reduce((s, i) => s + i.qty * i.price, 0) * 100) / 100, items, paid: r() < 0.97 };
    }
    case "cart_abandoned":
      return { items: int(r, 1, 5), value: int(r, 999, 49_999) / 100, currency: "EUR" };
    case "newsletter_open":
    case "email_click":
      return { campaign: pick(r, CAMPAIGNS), mailingId: int(r, 1, 400), ...(type === "email_click" ? { url: `https://shop.example.com${pick(r, PAGES)}` } : {}) };
    case "page_view":
      return { url: pick(r, PAGES), referrer: r() < 0.5 ? "https://www.google.com/" : null, durationSeconds: int(r, 1, 600) };
    case "login":
      return { channel: pick(r, ["web", "ios", "android"]), success: r() < 0.98 };
    case "review":
      return { sku: pick(r, PRODUCTS), rating: int(r, 1, 5), text: "Good quality, fast delivery." };
    case "support_ticket":
      return { ticketId: int(r, 10_000, 99_999), topic: pick(r, ["delivery", "refund", "account", "product"]), open: r() < 0.2 };
    case "booking":
      return { event: pick(r, ["workshop", "fitting", "webinar"]), date: "2026-0" + int(r, 1, 9) + "-1" + int(r, 0, 9), seats: int(r, 1, 4) };
    default:
      return { survey: "nps", score: int(r, 0, 10) };
  }
}
