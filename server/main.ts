/**
 * slsd's entry point: parse flags, build the app, listen. Everything else is in app.ts.
 */
import { Command, InvalidArgumentError } from 'commander';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { readDemoReadme, seedDemo } from './demo.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is 0–65535');
  return n;
}

function loud(message: string): void {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! WARNING: ${message}\n${bar}\n\n`);
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('slsd')
    .description('SLS authentication server: users, devices, login transactions, sessions (SPEC §0)')
    .option('--data-dir <dir>', 'data folder: SQLite file, server key, DSC+ state files, demo files (env SLS_DATA_DIR; default ./.sls-data)')
    .option('--port <port>', 'listen port (env SLS_PORT; default 7860; 0 picks a free one)', port)
    .option('--host <host>', 'listen address (env SLS_HOST; default 127.0.0.1)')
    .option('--database-url <url>', 'postgres://… for PostgreSQL (env SLS_DATABASE_URL; default SQLite in the data folder)')
    .option('--demo', 'seed demo users and devices when the database is empty, and print the demo README')
    .addHelpText(
      'after',
      '\nOther settings from the environment: SLS_SERVER_KEY (base64, 32 bytes), SLS_TRUST_PROXY, SLS_LOG_LEVEL, SLS_SESSION_TTL_MS, SLS_BODY_LIMIT.',
    )
    .parse([...argv], { from: 'user' });
  const opts = program.opts<{ dataDir?: string; port?: number; host?: string; databaseUrl?: string; demo?: boolean }>();
  const config = loadConfig(process.env, opts);
  const built = await buildApp(config);
  for (const w of built.services.warnings) loud(w);
  if (opts.demo) {
    const seeded = await seedDemo(built.services);
    const readme = readDemoReadme(config.dataDir);
    if (seeded) process.stdout.write('Seeded the demo data.\n');
    if (readme) process.stdout.write(readme + '\n');
    else process.stdout.write('The database already had users: no demo data was added.\n');
  }
  const address = await built.app.listen({ host: config.host, port: config.port });
  process.stdout.write(`slsd listening on ${address} (database: ${built.services.database.description}, data: ${config.dataDir})\n`);
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    built.app.log.info(`${signal}: closing`);
    built.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
