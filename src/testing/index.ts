/**
 * effect-mesos-executor/testing: fake Mesos agents for testing executors.
 *
 * One `AgentModel` holds the agent's side of the protocol; `FakeAgent` puts an
 * in-memory `AgentClient` in front of it for `TestClock` tests, and
 * `HttpFakeAgent` serves it over loopback HTTP for real executors.
 */
export * as AgentModel from "./AgentModel.js"
export * as FakeAgent from "./FakeAgent.js"
export * as HttpFakeAgent from "./HttpFakeAgent.js"
