// Command-line options of the bench scripts: `--help` prints the usage and every option with its
// default; an unknown or malformed option is named with the usage, exit code 2 (not a stack trace).
import { parseArgs, type ParseArgsConfig } from 'node:util';

export function benchArgs<const T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const argv = process.argv.slice(2);
  const options = Object.entries(config.options ?? {})
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ' <value>' : ''}${o.default === undefined ? '' : `  (default: ${String(o.default)})`}`)
    .join('\n');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\noptions:\n${options}\n`);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\noptions:\n${options}\n`);
    process.exit(2);
  }
}
