// Dates and times as people read them: message times, day dividers, "3 days ago".

export function parseTime(value) {
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dateFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const dateYearFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function dayKey(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function dayLabel(ms) {
  const today = new Date();
  const start = new Date(today.getFullYear(), today.getMonth(), today.getDate()).getTime();
  if (ms >= start) return "Today";
  if (ms >= start - 86400000) return "Yesterday";
  const d = new Date(ms);
  return d.getFullYear() === today.getFullYear() ? dateFmt.format(d) : dateYearFmt.format(d);
}

export function relativeTime(value) {
  const ms = parseTime(value);
  if (ms === null) return "";
  const diff = (ms - Date.now()) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return "just now";
  if (abs < 3600) return relFmt.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return relFmt.format(Math.round(diff / 3600), "hour");
  if (abs < 86400 * 30) return relFmt.format(Math.round(diff / 86400), "day");
  return dateYearFmt.format(new Date(ms));
}

export function shortDate(value) {
  const ms = parseTime(value);
  if (ms === null) return "";
  const d = new Date(ms);
  return d.getFullYear() === new Date().getFullYear()
    ? new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" }).format(d)
    : dateYearFmt.format(d);
}
