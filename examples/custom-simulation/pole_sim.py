"""A custom simulator for aitip's `custom` template (docs/simulation.md, "Your own simulator"): a cart and pole
written in plain NumPy, played by the registered policy through the adapter library `aitip_sim` that aitip puts
next to this script's folder (it is on PYTHONPATH).

It follows the adapter contract: read the scenario, play every seed in lockstep with one policy call per step,
apply the scenario's perturbations, record per-step cost and events, write the result. The suite's `penalties`
give the events their weight, e.g. {"pole_fell": 0.6, "wind_drift": 0.9}.

Observations are [cart position, cart velocity, pole angle, pole angular velocity]; action 1 pushes right.
Events: wind_drift (the cart enters the outer third of the track), pole_fell (|angle| > 12 degrees, ends the
episode). Cost: 1 per step in the outer third.
"""
import math
import time

import numpy as np

import aitip_sim

GRAVITY, CART_MASS, POLE_MASS, HALF_POLE, FORCE, DT = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TRACK, OUTER, FALL = 2.4, 1.6, 12 * math.pi / 180


def advance(state, push_right):
    """One Euler step of the classic cart-pole equations for every row of `state`."""
    x, x_dot, theta, theta_dot = state.T
    force = np.where(push_right, FORCE, -FORCE)
    total = CART_MASS + POLE_MASS
    temp = (force + POLE_MASS * HALF_POLE * theta_dot ** 2 * np.sin(theta)) / total
    theta_acc = (GRAVITY * np.sin(theta) - np.cos(theta) * temp) / (
        HALF_POLE * (4.0 / 3.0 - POLE_MASS * np.cos(theta) ** 2 / total))
    x_acc = temp - POLE_MASS * HALF_POLE * theta_acc * np.cos(theta) / total
    return np.stack([x + DT * x_dot, x_dot + DT * x_acc, theta + DT * theta_dot, theta_dot + DT * theta_acc], axis=1)


def main():
    spec = aitip_sim.scenario()
    seeds, max_steps = spec["seeds"], spec["max_steps"]
    act = aitip_sim.policy()
    recorder = aitip_sim.Recorder()
    rngs = [np.random.default_rng(seed) for seed in seeds]
    perturbations = [aitip_sim.Perturbations(spec["scenario"].get("perturbations"), rng) for rng in rngs]
    episodes = [recorder.episode(seed, max_steps=max_steps, dt=DT) for seed in seeds]
    state = np.array([rng.uniform(-0.05, 0.05, 4) + p.initial_offset(4) for rng, p in zip(rngs, perturbations)])
    outside = np.zeros(len(seeds), dtype=bool)
    running = np.ones(len(seeds), dtype=bool)
    start = time.perf_counter()
    for step in range(max_steps):
        active = np.flatnonzero(running)
        if len(active) == 0:
            break
        for i in active:
            state[i, 1] += perturbations[i].push(step)
        seen = np.array([perturbations[i].observe(state[i]) for i in active])
        state[active] = advance(state[active], act(seen) == 1)
        for i in active:
            x, theta = state[i, 0], state[i, 2]
            now_outside = abs(x) > OUTER
            episodes[i].step(1.0, cost=1.0 if now_outside else 0.0)
            if now_outside and not outside[i]:
                episodes[i].event("wind_drift")
            outside[i] = now_outside
            if abs(theta) > FALL or abs(x) > TRACK:
                episodes[i].event("pole_fell")
                episodes[i].end("terminated")
                running[i] = False
    for i in np.flatnonzero(running):
        episodes[i].end("truncated")
    recorder.write(seconds=time.perf_counter() - start)


if __name__ == "__main__":
    main()
