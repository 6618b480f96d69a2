/*
 * `npm run promote -- <from-env> <to-env>`: gives <to-env> exactly the image <from-env> runs (the
 * same record: repository, digest, commit, build time; nothing is rebuilt), then synthesizes. The
 * promotion is the commit of environments/images.json and dist/ that follows.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { imagesFile } from '../../environments/images.ts';
import { promoteImage, synthesize } from './images-file.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { images: { type: 'string' } } });
if (positionals.length !== 2) {
  console.error('usage: npm run promote -- <from-env> <to-env>   e.g. npm run promote -- dev staging');
  process.exit(2);
}
const [from, to] = positionals as [string, string];
const path = values.images === undefined ? imagesFile : resolve(values.images);
try {
  const record = promoteImage(path, from, to);
  console.log(
    `[promote] ${to}: ${record.repository}@${record.digest} from ${from} (commit ${record.commit.slice(0, 12)})`,
  );
  if (path === imagesFile) {
    console.log('[promote] synthesizing dist/ from environments/images.json');
    synthesize();
    console.log(`[promote] commit environments/images.json and dist/ to promote ${from} to ${to}`);
  }
} catch (err) {
  console.error(`[promote] ${(err as Error).message}`);
  process.exit(1);
}
