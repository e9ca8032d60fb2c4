"""The runner for aitip's built-in simulation templates: plays the job's MLflow model (a policy) in a gymnasium
environment over the scenario's seeds, with its perturbations, and writes the result file (see aitip_sim).

    {"template": "cartpole", "template_version": 1, "seeds": [0, 1, 2], "max_steps": 500,
     "scenario": {"name": "wind", "category": "disturbance",
                  "perturbations": {"push": {"magnitude": 0.5, "every": 50}}}}

All seeds run in lockstep, one environment each (reset with its seed, perturbed from numpy's default_rng(seed)),
and the model is asked once per step for the whole batch of still-running episodes: one `predict` per step for
all seeds, rather than one per seed and step, is what makes a run fast.

Templates (version 1):
    cartpole           CartPole-v1, 500 steps of 0.02 s, 4 observations, actions 0 (left) and 1 (right). Cost 1
                       per step with |x| > 1.2 (the outer half of the track); events safe_zone_exit, pole_fell,
                       cart_off_track. Push axis: cart velocity; initial state noise on all four state variables.
    inverted-pendulum  InvertedPendulum-v5 (MuJoCo), 1000 steps of 0.04 s, 4 observations, one force (clipped to
                       +-3). Cost 1 per step with |cart| > 0.5; events safe_zone_exit, pole_fell. Push axis: cart
                       velocity (qvel[0]); initial state noise on qpos and qvel.
    highway            highway-env's highway-fast-v0 (slow: tens of steps per second), 30 steps of 1 s, 25
                       observations (5 vehicles x presence, x, y, vx, vy), actions 0-4 (lane left, idle, lane
                       right, faster, slower). Cost 1 per step off the road or crashed; events collision (ends the
                       episode), off_road. Push axis: the ego vehicle's speed; initial state noise on its lateral
                       position, heading and speed.
A safe_zone_exit (highway: off_road) event marks each move from inside the zone to outside it. The model sees the
observation flattened, as columns obs_0, obs_1, ...; completion is the share of max_steps survived.

Frames: the scenario's "frames" (default 0) asks for that many frames of its first seed's episode, rendered by
gymnasium headless (CartPole and highway draw with pygame, MuJoCo with EGL) at even intervals and at its end. A
template that cannot render here says so once on stderr; the scenario goes on without frames.

Failures of the job's setup (an unknown template, a missing package, a bad scenario, a model whose predictions are
not actions) exit with status 2 and one line on stderr that starts with "aitip:". $AITIP_TIME_LIMIT (seconds),
when set, stops the stepping loop early: the unfinished episodes end "limit" and the result is still written.
"""
import os
import sys
import time

try:
    import numpy as np
except ImportError:
    print("aitip: the simulation runner needs numpy in the job's Python (pip install numpy)", file=sys.stderr)
    sys.exit(2)

import aitip_sim

GYMNASIUM = "gymnasium==1.4.0"


class Failure(Exception):
    """A problem with the job's setup, reported as one line on stderr."""


def _gymnasium(template, requirement):
    try:
        import gymnasium
    except ImportError:
        raise Failure(f"the {template} template needs gymnasium in the job's Python "
                      f"(pip install {requirement})") from None
    return gymnasium


class Template:
    """A gymnasium environment with the cost, events and push axis a template adds; subclasses fill it in."""
    name = max_steps = dt = None
    action_size = None  # None: discrete actions; n: n continuous values
    zone_event = "safe_zone_exit"

    def make(self, render=False):
        """The environment; `render`: it can draw RGB frames (render_mode "rgb_array")."""
        raise NotImplementedError

    def reset(self, env, seed, perturbations):
        """Resets `env` with `seed`, adds the initial state noise, returns the first observation."""
        raise NotImplementedError

    def push(self, env, impulse):
        raise NotImplementedError

    def outside(self, env):
        """Whether the state is outside the safe zone (each step there costs 1)."""
        raise NotImplementedError

    def failures(self, env, terminated, info):
        """The events that ended (or end) the episode at this step."""
        raise NotImplementedError

    def cost(self, outside, failures):
        return float(outside)

    def action(self, env, value):
        """The model's action as the environment takes it: a checked index, or values clipped to the bounds."""
        space = env.action_space
        if self.action_size is not None:
            return np.clip(value, space.low, space.high).astype(space.dtype)
        if not 0 <= value < space.n:
            raise Failure(f"the model returned action {value}, but the {self.name} template's actions are "
                          f"0 to {space.n - 1}")
        return int(value)


class CartPole(Template):
    name, max_steps, dt = "cartpole", 500, 0.02
    SAFE_X, TRACK_X, FALLEN = 1.2, 2.4, 12 * 2 * np.pi / 360

    def make(self, render=False):
        return _gymnasium(self.name, GYMNASIUM).make("CartPole-v1", **({"render_mode": "rgb_array"} if render else {}))

    def reset(self, env, seed, perturbations):
        env.reset(seed=seed)
        env.unwrapped.state = np.asarray(env.unwrapped.state, dtype=np.float64) + perturbations.initial_offset(4)
        return np.array(env.unwrapped.state, dtype=np.float32)

    def push(self, env, impulse):
        env.unwrapped.state[1] += impulse

    def outside(self, env):
        return abs(env.unwrapped.state[0]) > self.SAFE_X

    def failures(self, env, terminated, info):
        if not terminated:
            return []
        x, _, theta, _ = env.unwrapped.state  # CartPole ends when |x| > 2.4 or |theta| > 12 degrees
        events = ["cart_off_track"] if abs(x) > self.TRACK_X else []
        if abs(theta) > self.FALLEN or not events:
            events.append("pole_fell")
        return events


class InvertedPendulum(Template):
    name, max_steps, action_size = "inverted-pendulum", 1000, 1
    SAFE_X = 0.5
    REQUIREMENT = f"{GYMNASIUM} mujoco==4.0.1 imageio==2.38.2"  # gymnasium's MuJoCo environments import imageio

    CAMERA = {"distance": 3.0, "elevation": -5.0, "azimuth": 90.0, "lookat": np.array([0.0, 0.0, 0.3]), "trackbodyid": -1}

    def make(self, render=False):
        gymnasium = _gymnasium(self.name, self.REQUIREMENT)
        options = {"render_mode": "rgb_array", "width": 480, "height": 320, "default_camera_config": self.CAMERA} if render else {}
        try:
            env = gymnasium.make("InvertedPendulum-v5", **options)
        except (ImportError, gymnasium.error.DependencyNotInstalled):
            raise Failure(f"the {self.name} template needs MuJoCo in the job's Python "
                          f"(pip install {self.REQUIREMENT})") from None
        self.dt = env.unwrapped.dt
        return env

    def reset(self, env, seed, perturbations):
        env.reset(seed=seed)
        data = env.unwrapped.data
        offset = perturbations.initial_offset(data.qpos.size + data.qvel.size)
        env.unwrapped.set_state(data.qpos + offset[:data.qpos.size], data.qvel + offset[data.qpos.size:])
        return np.concatenate([data.qpos, data.qvel])  # InvertedPendulum-v5's observation

    def push(self, env, impulse):
        data = env.unwrapped.data
        qvel = data.qvel.copy()
        qvel[0] += impulse
        env.unwrapped.set_state(data.qpos.copy(), qvel)

    def outside(self, env):
        return abs(env.unwrapped.data.qpos[0]) > self.SAFE_X

    def failures(self, env, terminated, info):
        return ["pole_fell"] if terminated else []


class Highway(Template):
    name, max_steps = "highway", 30
    zone_event = "off_road"
    REQUIREMENT = f"{GYMNASIUM} highway-env==1.12.1"

    def make(self, render=False):
        gymnasium = _gymnasium(self.name, self.REQUIREMENT)
        try:
            import highway_env  # noqa: F401 (registers highway-fast-v0)
        except ImportError:
            raise Failure(f"the {self.name} template needs highway-env in the job's Python "
                          f"(pip install {self.REQUIREMENT})") from None
        env = gymnasium.make("highway-fast-v0", **({"render_mode": "rgb_array"} if render else {}))
        config = env.unwrapped.config
        self.dt = 1.0 / config["policy_frequency"]
        if config["duration"] * config["policy_frequency"] != self.max_steps:
            raise Failure(f"highway-fast-v0 lasts {config['duration']} s, not the template's {self.max_steps} steps")
        return env

    def reset(self, env, seed, perturbations):
        observation, _ = env.reset(seed=seed)
        offset = perturbations.initial_offset(3)
        if not offset.any():
            return observation
        ego = env.unwrapped.vehicle
        ego.position[1] += offset[0]
        ego.heading += offset[1]
        ego.speed += offset[2]
        return env.unwrapped.observation_type.observe()

    def push(self, env, impulse):
        env.unwrapped.vehicle.speed += impulse

    def outside(self, env):
        return not env.unwrapped.vehicle.on_road

    def failures(self, env, terminated, info):
        return ["collision"] if info.get("crashed") else []

    def cost(self, outside, failures):
        return float(outside or bool(failures))


TEMPLATES = {template.name: template for template in (CartPole, InvertedPendulum, Highway)}


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_scenario():
    """The scenario file, checked: (template, seeds, max_steps, perturbations config)."""
    try:
        spec = aitip_sim.scenario()
    except (OSError, ValueError) as error:
        raise Failure(f"cannot read the scenario file: {error}") from None
    if spec.get("template") not in TEMPLATES:
        raise Failure(f"unknown template {spec.get('template')!r} (this runner knows {', '.join(TEMPLATES)})")
    template = TEMPLATES[spec["template"]]()
    if spec.get("template_version", 1) != 1:
        raise Failure(f"the {template.name} template has no version {spec['template_version']!r} (only 1)")
    seeds = spec.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(_integer(seed) and seed >= 0 for seed in seeds):
        raise Failure("seeds must be a non-empty list of integers >= 0")
    if len(set(seeds)) != len(seeds):
        raise Failure("seeds must be distinct")
    max_steps = spec.get("max_steps", template.max_steps)
    if not _integer(max_steps) or not 1 <= max_steps <= template.max_steps:
        raise Failure(f"max_steps must be an integer from 1 to {template.max_steps} for the {template.name} template")
    scenario = spec.get("scenario") or {}
    if not isinstance(scenario, dict):
        raise Failure("scenario must be a JSON object")
    frames = spec.get("frames", 0)
    if not _integer(frames) or not 0 <= frames <= aitip_sim.MAX_FRAMES:
        raise Failure(f"frames must be an integer from 0 to {aitip_sim.MAX_FRAMES}")
    return template, seeds, max_steps, scenario.get("perturbations"), frames


def time_limit():
    text = os.environ.get("AITIP_TIME_LIMIT")
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise Failure(f"AITIP_TIME_LIMIT must be a number of seconds > 0, not {text!r}")
    return seconds


class Run:
    """One seed's episode in progress: its environment, perturbations, record and last observation."""

    def __init__(self, template, seed, max_steps, perturbations, recorder, frame_every=0):
        try:
            self.perturbations = aitip_sim.Perturbations(perturbations, np.random.default_rng(seed))
        except ValueError as error:
            raise Failure(f"scenario: {error}") from None
        self.env = template.make(render=frame_every > 0)
        self.frame_every = frame_every
        self.observation = template.reset(self.env, seed, self.perturbations)
        self.outside = template.outside(self.env)
        self.record = recorder.episode(seed, max_steps, template.dt)
        self.film()

    def film(self, last=False):
        """Records a frame every `frame_every` steps and at the end; turns frames off for good when the
        environment cannot render here."""
        if not self.frame_every or not (last or self.record.steps % self.frame_every == 0):
            return
        try:
            image = self.env.render()
        except Exception as error:  # a missing pygame, no EGL: the scenario itself is fine
            print(f"aitip: no frames: {type(error).__name__}: {error}", file=sys.stderr)
            self.frame_every = 0
            return
        if image is not None:
            self.record.frame(np.ascontiguousarray(image[..., :3], dtype=np.uint8))

    def step(self, template, action, max_steps):
        """Takes one step; returns how the episode ended, or None while it goes on."""
        impulse = self.perturbations.push(self.record.steps)
        if impulse:
            template.push(self.env, impulse)
        self.observation, reward, terminated, truncated, info = self.env.step(template.action(self.env, action))
        outside = template.outside(self.env)
        failures = template.failures(self.env, terminated, info)
        self.record.step(reward, template.cost(outside, failures))
        if outside and not self.outside:
            self.record.event(template.zone_event)
        self.outside = outside
        for failure in failures:
            self.record.event(failure)
        ended = "terminated" if terminated or failures else "truncated" if truncated or self.record.steps >= max_steps else None
        self.film(last=ended is not None)
        return ended


def simulate():
    template, seeds, max_steps, perturbations, frames = read_scenario()
    limit = time_limit()
    recorder = aitip_sim.Recorder()
    frame_every = -(-max_steps // frames) if frames else 0  # the first seed's episode, filmed at even intervals
    running = [Run(template, seed, max_steps, perturbations, recorder, frame_every if position == 0 else 0)
               for position, seed in enumerate(seeds)]
    try:
        act = aitip_sim.policy(action_size=template.action_size)
    except ImportError as error:
        if (error.name or "").split(".")[0] != "mlflow":
            raise  # the model's own code needs something: its traceback says what
        raise Failure("the simulation runner needs mlflow in the job's Python (pip install mlflow-skinny)") from None
    start = time.perf_counter()
    while running:
        if limit is not None and time.perf_counter() - start > limit:
            for run in running:
                run.record.end("limit")
            break
        actions = act(np.stack([run.perturbations.observe(run.observation) for run in running]))
        still = []
        for run, action in zip(running, actions):
            ended = run.step(template, action, max_steps)
            if ended:
                run.record.end(ended)
                run.env.close()
            else:
                still.append(run)
        running = still
    recorder.write(seconds=time.perf_counter() - start)


def main():
    try:
        simulate()
    except (Failure, aitip_sim.PolicyError) as error:
        print(f"aitip: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
