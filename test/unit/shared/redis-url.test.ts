// A Redis URL the client library would refuse stops the start with a clear message (the library itself loads
// later, on first use: a bad URL must not wait for it and fail as an unhandled rejection).
import { describe, expect, it } from 'vitest';
import { FailFastRedis } from '../../../src/shared/redis.js';

describe('FailFastRedis', () => {
  it.each(['localhost:6379', 'http://127.0.0.1:6379', 'not a url', ''])('refuses %j at once', (url) => {
    expect(() => new FailFastRedis(url)).toThrow(/the Redis URL must be redis:\/\/.* or rediss:\/\//);
  });

  it('never puts the URL (a password) in that message', () => {
    expect(() => new FailFastRedis('redis//user:s3cret@host:6379')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    );
  });
});
