/**
 * Go's time.Time as the go-template engine's sprig date functions need it: an instant in a zone,
 * formatted with Go's reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`).
 */
export class GoTime {
  /** Seconds since the Unix epoch. */
  readonly seconds: number;
  /** Nanoseconds within the second, 0 to 999 999 999. */
  readonly nanos: number;
  /** The zone's offset from UTC at this instant, in seconds east. */
  readonly offset: number;
  /** The zone's abbreviation ('' when it has none: layouts then print the offset). */
  readonly abbreviation: string;
  /** The zone: 'UTC' or an IANA name. */
  readonly zone: string;

  constructor(seconds: number, nanos: number, zone: string) {
    this.seconds = seconds;
    this.nanos = nanos;
    this.zone = zone;
    [this.offset, this.abbreviation] = zoneAt(zone, seconds);
  }

  /** The same instant in `zone` (Go's time.LoadLocation name: 'Local', 'UTC', '' or an IANA name; an unknown one is UTC, as sprig falls back). */
  in(zone: string): GoTime {
    return new GoTime(this.seconds, this.nanos, resolveZone(zone));
  }
}

/** time.Now() in the local zone. */
export function goNow(): GoTime {
  const ms = performance.timeOrigin + performance.now();
  const seconds = Math.floor(ms / 1000);
  return new GoTime(seconds, Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6)), resolveZone('Local'));
}

/** time.Unix(seconds, 0) in the local zone. */
export function goUnix(seconds: number): GoTime {
  return new GoTime(seconds, 0, resolveZone('Local'));
}

/** Go's time.Time.String() (without the monotonic clock reading). */
export function goTimeString(t: GoTime): string {
  return goFormat(t, '2006-01-02 15:04:05.999999999 -0700 MST');
}

/** Go's time.Time.MarshalJSON text, unquoted. */
export function goTimeJson(t: GoTime): string {
  return goFormat(t, '2006-01-02T15:04:05.999999999Z07:00');
}

function resolveZone(zone: string): string {
  if (zone === '' || zone === 'UTC') return 'UTC';
  if (zone === 'Local') {
    // Go: TZ="" is UTC, TZ unset is the system's zone.
    if (process.env.TZ === '') return 'UTC';
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
  }
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return 'UTC';
  }
}

function zoneAt(zone: string, seconds: number): [number, string] {
  if (zone === 'UTC' || zone === 'Etc/UTC') return [0, 'UTC'];
  const at = new Date(seconds * 1000);
  const part = (style: 'longOffset' | 'short') =>
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: style })
      .formatToParts(at)
      .find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /^GMT([+-])(\d\d):(\d\d)(?::(\d\d))?$/.exec(part('longOffset'));
  const offset = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) : 0;
  // Intl knows the common abbreviations (EST, PDT, UTC, GMT); for the rest it says `GMT+1`, where
  // Go would print the zone database's own (CET): those print as the offset, as Go prints a zone
  // without an abbreviation.
  const short = part('short');
  return [offset, /^[A-Z]{2,5}$/.test(short) ? short : ''];
}

const longMonths = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The layout element at the start of `s` (Go's nextStdChunk, in its order of tests), or undefined for a literal character. */
function element(s: string): string | undefined {
  const starts = (p: string) => s.startsWith(p);
  switch (s[0]) {
    case 'J':
      return starts('January') ? 'January' : starts('Jan') ? 'Jan' : undefined;
    case 'M':
      return starts('Monday') ? 'Monday' : starts('Mon') ? 'Mon' : starts('MST') ? 'MST' : undefined;
    case '0':
      return /^0[1-6]/.test(s) ? s.slice(0, 2) : starts('002') ? '002' : undefined;
    case '1':
      return starts('15') ? '15' : '1';
    case '2':
      return starts('2006') ? '2006' : '2';
    case '_':
      if (starts('_2')) return starts('_2006') ? undefined : '_2';
      return starts('__2') ? '__2' : undefined;
    case '3':
    case '4':
    case '5':
      return s[0];
    case 'P':
      return starts('PM') ? 'PM' : undefined;
    case 'p':
      return starts('pm') ? 'pm' : undefined;
    case '-':
    case 'Z':
      return ['070000', '07:00:00', '0700', '07:00', '07'].map((z) => s[0] + z).find(starts);
    case '.':
    case ',': {
      const m = /^[.,](0+|9+)/.exec(s);
      return m && !/[0-9]/.test(s[m[0].length] ?? '') ? m[0] : undefined;
    }
    default:
      return undefined;
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Go's time.Time.Format. */
export function goFormat(t: GoTime, layout: string): string {
  const wall = new Date((t.seconds + t.offset) * 1000);
  const year = wall.getUTCFullYear();
  const month = wall.getUTCMonth();
  const day = wall.getUTCDate();
  const hour = wall.getUTCHours();
  const yday = Math.floor((Date.UTC(year, month, day) - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  let out = '';
  for (let i = 0; i < layout.length; ) {
    const el = element(layout.slice(i));
    if (el === undefined) {
      out += layout[i];
      i++;
      continue;
    }
    i += el.length;
    out += formatElement(el, t, { year, month, day, hour, yday, wall });
  }
  return out;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  yday: number;
  wall: Date;
}

function formatElement(el: string, t: GoTime, f: Fields): string {
  const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
  switch (el) {
    case 'January':
      return longMonths[f.month] as string;
    case 'Jan':
      return (longMonths[f.month] as string).slice(0, 3);
    case '1':
      return String(f.month + 1);
    case '01':
      return pad(f.month + 1, 2);
    case 'Monday':
      return longDays[f.wall.getUTCDay()] as string;
    case 'Mon':
      return (longDays[f.wall.getUTCDay()] as string).slice(0, 3);
    case '2':
      return String(f.day);
    case '_2':
      return String(f.day).padStart(2, ' ');
    case '02':
      return pad(f.day, 2);
    case '__2':
      return String(f.yday).padStart(3, ' ');
    case '002':
      return pad(f.yday, 3);
    case '2006':
      return f.year < 0 ? `-${pad(-f.year, 4)}` : pad(f.year, 4);
    case '06':
      return pad(((f.year % 100) + 100) % 100, 2);
    case '15':
      return pad(f.hour, 2);
    case '3':
      return String(hour12);
    case '03':
      return pad(hour12, 2);
    case '4':
      return String(f.wall.getUTCMinutes());
    case '04':
      return pad(f.wall.getUTCMinutes(), 2);
    case '5':
      return String(f.wall.getUTCSeconds());
    case '05':
      return pad(f.wall.getUTCSeconds(), 2);
    case 'PM':
      return f.hour >= 12 ? 'PM' : 'AM';
    case 'pm':
      return f.hour >= 12 ? 'pm' : 'am';
    case 'MST':
      return t.abbreviation || offsetText(t.offset, '', true, false);
  }
  if (el[0] === '.' || el[0] === ',') {
    const digits = pad(t.nanos, 9).slice(0, el.length - 1);
    if (el[1] === '0') return el[0] + digits;
    const trimmed = digits.replace(/0+$/, '');
    return trimmed === '' ? '' : el[0] + trimmed;
  }
  // -0700 and the like; Z0700 and the like print Z for UTC.
  if (el[0] === 'Z' && t.offset === 0) return 'Z';
  const z = el.slice(1);
  return offsetText(t.offset, z.includes(':') ? ':' : '', z !== '07', z.length === 6 || z.length === 8);
}

function offsetText(offset: number, colon: string, minutes: boolean, seconds: boolean): string {
  const abs = Math.abs(offset);
  let out = (offset < 0 ? '-' : '+') + pad(Math.floor(abs / 3600), 2);
  if (minutes) out += colon + pad(Math.floor(abs / 60) % 60, 2);
  if (seconds) out += colon + pad(abs % 60, 2);
  return out;
}
