/**
 * The login inputs (`server`, `username`, `password`) in what the Action prints. Any of them may come from
 * a secret, and the runner masks a secret only where its value appears exactly as written: the engine's
 * messages quote a user name as JSON (`"DOMAIN\\user"`), a URL %-encodes it (`deploy%40example.com`), and
 * the job summary's HTML escaping turns `ftp_1` into `ftp&#95;1`. Each such form would show the secret.
 */

interface Login {
  host: string;
  user: string;
  password: string;
}

let login: Login = { host: '', user: '', password: '' };

/** Called as the inputs are read, before anything naming them is printed. */
export function rememberLogin(given: Partial<Login>): void {
  login = { ...login, ...given };
}

/** The forms other than `value` itself that messages and URLs give it. */
function otherForms(value: string): string[] {
  // A value with a line break or NUL is refused, by a message that shows it JSON-escaped on purpose.
  if (value === '' || [...value].some((ch) => ch < ' ')) return [];
  const forms = [JSON.stringify(value).slice(1, -1), encodeURIComponent(value), encodeURI(value)];
  return [...new Set(forms)].filter((f) => f !== value).sort((a, b) => b.length - a.length);
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The host in any case, not inside a longer name: the host `example.com` in `www.example.com.txt` is part
 * of a file name.
 */
function hostPattern(host: string): RegExp {
  return new RegExp(`(?<![\\w.-])${literal(host)}(?![\\w-]|\\.\\w)`, 'gi');
}

/**
 * `text` (a log line, an annotation) with the user name and host as written in the inputs wherever another
 * form of them appears (JSON-escaped, %-encoded, the host in another case), so the runner's mask of a
 * secret finds them; any other form of the password is `***`.
 */
export function asGiven(text: string): string {
  let out = text;
  for (const form of otherForms(login.password)) out = out.split(form).join('***');
  for (const form of otherForms(login.user)) out = out.split(form).join(login.user);
  for (const form of otherForms(login.host)) out = out.split(form).join(login.host);
  // DNS names are read in any case: a certificate or a server may give the host in lower case.
  if (login.host !== '' && /[a-z]/i.test(login.host))
    out = out.replace(hostPattern(login.host), () => login.host);
  return out;
}

/**
 * `text` for the job summary (escaped as HTML after this, so the runner's mask would miss the escaped form)
 * and the files a later step posts (masked by nothing): the host as `***`, in any case, and the user name
 * too when it holds more than letters, digits, `.` and `-` (so that a plain name such as `deploy` leaves the
 * words "the deploy" alone). The password never gets this far.
 */
export function withoutLogin(text: string): string {
  let out = text;
  const user = login.user;
  if (user !== '' && /[^A-Za-z0-9.-]/.test(user))
    for (const form of [user, ...otherForms(user)]) out = out.split(form).join('***');
  const host = login.host;
  if (host !== '') {
    for (const form of otherForms(host)) out = out.split(form).join(host);
    out = out.replace(hostPattern(host), '***');
  }
  return out;
}
