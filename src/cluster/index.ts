/**
 * Replicas as one server: the fleet port (`Fleet`), a fleet of one (`LocalFleet`, no Redis) and the Redis
 * fleet (`RedisFleet`, the only importer of ioredis).
 */
export { LocalFleet, checkedPin, isCommitId } from './fleet.js';
export type {
  Fleet,
  FleetEvents,
  FleetSelf,
  FleetStatus,
  ReplicaState,
  ReplicaView,
  SharedPin,
} from './fleet.js';
export { RedisFleet } from './redis-fleet.js';
export type { RedisFleetOptions } from './redis-fleet.js';
export { parseRedisEndpoint } from './redis-endpoint.js';
export type { RedisEndpoint } from './redis-endpoint.js';
