// Run before every test file: the wire's exception boundary is a net, not a
// fix, so no test may end with a throw caught by it. Tests that throw on
// purpose to show the boundary at work take their catch back.

import { afterAll, expect } from 'vitest';
import { boundary } from '../../protocols/http-server.js';

afterAll(() => {
  expect(boundary.caught, 'throws caught by the exception boundary of the wire').toBe(0);
});
