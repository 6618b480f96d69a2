/*
 * The released hub image of each deployed environment, from environments/images.json. That file is
 * generated: `npm run release` records what it pushed and signed for dev, `npm run promote` copies a
 * record to the next environment. Environment files read their hub image from it, so promotion is a
 * commit of that file and the dist/ it synthesizes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
// A static import: the load-test runner bundles the environments, so the records travel inside it.
import committed from './images.json' with { type: 'json' };
import { imageSchema } from './schema.ts';

export const imagesFile = fileURLToPath(new URL('./images.json', import.meta.url));

/** The environments a release reaches, in promotion order. */
export const RELEASE_ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type ReleaseEnvironment = (typeof RELEASE_ENVIRONMENTS)[number];

export const imageRecordSchema = imageSchema.extend({
  /** The commit the image was built from. */
  commit: z.string().regex(/^[a-f0-9]{40}$/, 'must be a full git commit hash (40 hex)'),
  /** When the image was built and pushed. */
  builtAt: z.iso.datetime({ error: 'must be an ISO 8601 UTC time such as 2026-12-01T03:00:00Z' }),
});
export type ImageRecord = z.infer<typeof imageRecordSchema>;

const imagesSchema = z.strictObject(
  Object.fromEntries(RELEASE_ENVIRONMENTS.map((env) => [env, imageRecordSchema.optional()])) as Record<
    ReleaseEnvironment,
    z.ZodOptional<typeof imageRecordSchema>
  >,
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.join(', ')}: must be one of ${RELEASE_ENVIRONMENTS.join(', ')}`
        : undefined,
  },
);
export type ImageRecords = z.infer<typeof imagesSchema>;

function validImages(source: string, json: unknown): ImageRecords {
  const result = imagesSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source} is invalid:\n${problems.join('\n')}`);
  }
  return result.data;
}

/** Reads and validates an images file; errors name the file, the field and the rule. */
export function readImages(path: string): ImageRecords {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return validImages(path, json);
}

/** The hub image an environment file deploys: the one released or promoted to it. */
export function releasedImage(env: ReleaseEnvironment): { repository: string; digest: string } {
  const record = validImages('environments/images.json', committed)[env];
  if (record === undefined) {
    throw new Error(
      `environments/images.json: ${env}: no image recorded (run \`npm run release\`, or \`npm run promote\` to ${env})`,
    );
  }
  return { repository: record.repository, digest: record.digest };
}
