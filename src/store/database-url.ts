/**
 * A database URL fit for logs: the password replaced by `***`. In a module of its own so that a
 * process that only names the database (a STOMP worker's start-up line) loads no database driver.
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, "//$1:***@");
}
