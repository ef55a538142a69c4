/** Tag-based routing (LiteLLM's rules, strict and lenient), region inference, and the merged call scope. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { callScope } from '../../src/routing/call-scope.js';
import { deploymentRegion, filterByRegion } from '../../src/routing/region.js';
import { filterByTags, type TagSettings } from '../../src/routing/tags.js';
import { dep } from './helpers.js';

const a = dep('a', 'g', { tags: ['teamA'] });
const b = dep('b', 'g', { tags: ['teamB', 'paid'] });
const def = dep('d', 'g', { tags: ['default'] });
const plain = dep('p', 'g');
const strict: TagSettings = { enabled: true, matchAny: true };
const lenient: TagSettings = { enabled: undefined, matchAny: true };
const ids = (list: readonly { id: string }[]): string[] => list.map((d) => d.id);

describe('filterByTags, enable_tag_filtering: true (LiteLLM tag_based_routing.py)', () => {
  it('a tagged request goes to the deployments sharing a tag', () => {
    expect(ids(filterByTags([a, b, def, plain], ['teamB'], strict, 'g'))).toEqual(['b']);
    expect(ids(filterByTags([a, b, def], ['teamA', 'paid'], strict, 'g'))).toEqual(['a', 'b']);
  });

  it('match_any: false needs every request tag on the deployment', () => {
    const all: TagSettings = { enabled: true, matchAny: false };
    expect(ids(filterByTags([a, b], ['teamB', 'paid'], all, 'g'))).toEqual(['b']);
    expect(() => filterByTags([a, b], ['teamA', 'paid'], all, 'g')).toThrow(GatewayError);
  });

  it('no match goes to the default deployments, and without them is refused with LiteLLM\'s message', () => {
    expect(ids(filterByTags([a, b, def], ['other'], strict, 'g'))).toEqual(['d']);
    let error: unknown;
    try {
      filterByTags([a, b, plain], ['other'], strict, 'gpt-4');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).status).toBe(400);
    expect((error as GatewayError).message).toBe('Not allowed to access model due to tags configuration. Passed model=gpt-4 and tags=["other"]');
  });

  it('an untagged request goes to the default deployments when there are any, else to all', () => {
    expect(ids(filterByTags([a, b, def], [], strict, 'g'))).toEqual(['d']);
    expect(ids(filterByTags([a, b, plain], [], strict, 'g'))).toEqual(['a', 'b', 'p']);
  });

  it('!tag excludes and &tag requires', () => {
    expect(ids(filterByTags([a, b, plain], ['!teamA'], strict, 'g'))).toEqual(['b', 'p']);
    expect(ids(filterByTags([a, b, plain], ['&paid'], strict, 'g'))).toEqual(['b']);
    expect(ids(filterByTags([a, b, plain], ['teamA', '!paid'], strict, 'g'))).toEqual(['a']);
    expect(() => filterByTags([a, b], ['&nothing'], strict, 'g')).toThrow(/tags configuration/);
  });
});

describe('filterByTags, enable_tag_filtering unset (Tollgate: narrow, never refuse)', () => {
  it('narrows to matches and falls back to the whole group, ignoring default tags', () => {
    expect(ids(filterByTags([a, b, def], ['teamA'], lenient, 'g'))).toEqual(['a']);
    expect(ids(filterByTags([a, b, def], ['other'], lenient, 'g'))).toEqual(['a', 'b', 'd']);
    expect(ids(filterByTags([a, b, def], [], lenient, 'g'))).toEqual(['a', 'b', 'd']);
  });

  it('enable_tag_filtering: false turns it off', () => {
    expect(ids(filterByTags([a, b], ['teamA'], { enabled: false, matchAny: true }, 'g'))).toEqual(['a', 'b']);
  });
});

describe('region', () => {
  it('is region_name, else told from the Bedrock or Vertex location, else unknown', () => {
    expect(deploymentRegion(dep('x', 'g', { region_name: 'EU' }))).toBe('eu');
    expect(deploymentRegion(dep('x', 'g', { aws_region_name: 'eu-central-1' }, { provider: 'bedrock' }))).toBe('eu');
    expect(deploymentRegion(dep('x', 'g', { aws_region_name: 'us-west-2' }, { provider: 'bedrock' }))).toBe('us');
    expect(deploymentRegion(dep('x', 'g', { vertex_location: 'europe-west4' }, { provider: 'vertex_ai' }))).toBe('eu');
    expect(deploymentRegion(dep('x', 'g', { vertex_location: 'asia-east1' }, { provider: 'vertex_ai' }))).toBeUndefined();
    expect(deploymentRegion(dep('x', 'g'))).toBeUndefined();
  });

  it('keeps the deployments in the allowed region; none is a 400', () => {
    const eu = dep('eu', 'g', { region_name: 'eu' });
    const us = dep('us', 'g', { aws_region_name: 'us-east-1' }, { provider: 'bedrock' });
    expect(ids(filterByRegion([eu, us, plain], 'eu', 'g'))).toEqual(['eu']);
    expect(ids(filterByRegion([eu, us, plain], 'us', 'g'))).toEqual(['us']);
    expect(() => filterByRegion([plain], 'eu', 'g')).toThrow(/allowed_model_region=eu/);
  });
});

describe('callScope', () => {
  it('merges request, header, key and team tags and takes `tags` out of the body', () => {
    const body: Record<string, unknown> = { model: 'm', tags: ['r1'], metadata: { tags: ['m1', 'r1'] } };
    const scope = callScope(body, 'm', 'h1, h2', { keyTags: ['k1'], teamTags: ['t1', 'k1'] });
    expect(scope.tags).toEqual(['r1', 'm1', 'h1', 'h2', 'k1', 't1']);
    expect(scope.edited).toBe(true);
    expect(body).not.toHaveProperty('tags');
  });

  it('applies the team alias, then the key alias, and passes the end user region', () => {
    const scope = callScope({ model: 'gpt-4o' }, 'gpt-4o', undefined, { teamAliases: { 'gpt-4o': 'team-4o' }, keyAliases: { 'team-4o': 'key-4o' }, allowedRegion: 'eu' });
    expect(scope).toMatchObject({ model: 'key-4o', allowedRegion: 'eu', edited: false, tags: [] });
    expect(callScope({ model: 'x' }, 'x', undefined, { teamAliases: { y: 'z' }, allowedRegion: null }).model).toBe('x');
  });

  it('refuses tags that are not strings', () => {
    expect(() => callScope({ model: 'm', tags: [1] }, 'm', undefined, {})).toThrow(/tags: must be a list of strings/);
  });
});
