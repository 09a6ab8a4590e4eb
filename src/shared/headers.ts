// Headers the router and the instances agree on.

/** Marks a mirrored copy of a live request: the instance answers it but does not audit it as served. */
export const MIRROR_HEADER = 'x-guardgate-mirror';

/**
 * Marks gate, bench and replay traffic (with an admin credential): evidence, not user traffic. The instance
 * neither audits it as served nor answers it from the cache (a gate measures the engine, not the cache).
 */
export const EVIDENCE_HEADER = 'x-guardgate-evidence';

/** Sends a request to the standby color (a preview). */
export const PREVIEW_HEADER = 'x-guardgate-preview';
