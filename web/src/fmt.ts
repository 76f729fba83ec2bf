// Numbers and money in the browser's locale; dates always ISO 8601 (YYYY-MM-DD).

const locale = navigator.language || "en";
const percent = new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const number2 = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const ratio = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : percent.format(x));
export const num = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : number2.format(x));
export const ratioFmt = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : ratio.format(x));

export function money(amount: number | string, currency: string): string {
  const value = typeof amount === "string" ? Number(amount) : amount;
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(value);
  } catch {
    return `${number2.format(value)} ${currency}`;
  }
}

/** Seconds since the epoch (UTC midnight) of an ISO date, as uPlot's time axis wants. */
export const epoch = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / 1000;

/** The ISO date of a uPlot time value. */
export const isoDate = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

export const isoDateTime = (iso: string | null | undefined): string =>
  iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$|Z$/, " UTC") : "—";
