// Whether a traffic change reached the cluster, judged from its status: a Service's EndpointSlices, an
// HTTPRoute's report from its Gateway for the route's current generation.
import { describe, expect, it } from 'vitest';
import { endpointsMovedTo, routeNotProgrammed, type Route } from '../../../src/drivers/kubernetes/propagation.js';

describe("a Service's endpoints moving to a color", () => {
  it('have moved when they name a ready pod of the new color and none of the old', () => {
    expect(endpointsMovedTo(new Set(['g1', 'g2']), ['g1', 'g2'], ['b1'], 'green')).toBeUndefined();
    expect(endpointsMovedTo(new Set(['b1']), ['g1'], ['b1'], 'green')).toBe(
      'its EndpointSlices name no ready pod of green',
    );
    expect(endpointsMovedTo(new Set(['g1', 'b1']), ['g1'], ['b1'], 'green')).toBe(
      'its EndpointSlices still name 1 ready pod(s) of blue',
    );
  });
});

describe('an HTTPRoute programmed by its Gateway', () => {
  const condition = (type: string, status: string, observedGeneration: number, reason = type) => ({
    type,
    status,
    reason,
    message: '',
    observedGeneration,
  });
  const route = (generation: number, conditions: ReturnType<typeof condition>[] | undefined): Route => ({
    metadata: { name: 'guardgate', generation },
    spec: {},
    ...(conditions === undefined ? {} : { status: { parents: [{ parentRef: { name: 'gw' }, conditions }] } }),
  });

  it('is programmed when Accepted and ResolvedRefs are True for its current generation', () => {
    expect(
      routeNotProgrammed(route(3, [condition('Accepted', 'True', 3), condition('ResolvedRefs', 'True', 3)]), 'gw'),
    ).toBeUndefined();
  });

  it('is not while the Gateway has not reported, has reported on an older generation, or refuses it', () => {
    expect(routeNotProgrammed(route(3, undefined), 'gw')).toBe('the Gateway gw has not reported on the route yet');
    expect(
      routeNotProgrammed(route(3, [condition('Accepted', 'True', 2), condition('ResolvedRefs', 'True', 2)]), 'gw'),
    ).toBe('Accepted not reported for generation 3 yet');
    expect(
      routeNotProgrammed(
        route(3, [condition('Accepted', 'False', 3, 'NotAllowedByListeners'), condition('ResolvedRefs', 'True', 3)]),
        'gw',
      ),
    ).toBe('Accepted is False: NotAllowedByListeners');
    expect(
      routeNotProgrammed(
        route(3, [condition('Accepted', 'True', 3), condition('ResolvedRefs', 'False', 3, 'BackendNotFound')]),
        'gw',
      ),
    ).toBe('ResolvedRefs is False: BackendNotFound');
  });

  it('an unresolved standby backend (weight 0, not deployed) is expected; an unaccepted route never is', () => {
    expect(
      routeNotProgrammed(
        route(3, [condition('Accepted', 'True', 3), condition('ResolvedRefs', 'False', 3, 'BackendNotFound')]),
        'gw',
        true,
      ),
    ).toBeUndefined();
    expect(
      routeNotProgrammed(
        route(3, [condition('Accepted', 'False', 3, 'NotAllowedByListeners'), condition('ResolvedRefs', 'False', 3)]),
        'gw',
        true,
      ),
    ).toBe('Accepted is False: NotAllowedByListeners');
  });
});
