"""Train on a 2D camel, draw weighted points, and unweight them into i.i.d. events.

Run: python examples/sampling_and_unweighting.py
"""


from nisflow import Integrator
from nisflow.bench.functions import get_function

camel = get_function("camel2")  # two Gaussian peaks in [0, 1]^2, exact integral known
integrator = Integrator(
    d=camel.d, f=camel.f, n_iter_survey=5, n_points_survey=20_000, n_iter_refine=2,
    n_points_refine=20_000, seed=3, verbose=False,
)
result = integrator.integrate()
print(f"integral: {result}   exact: {camel.exact:.6f}")

x, w, log_q = integrator.sample(50_000)  # points (n, 2), weights f/q (n,), log q (n,)
print(f"weighted sample: mean weight {w.double().mean():.6f}, "
      f"unweighting efficiency {float(w.mean() / w.max()):.3f}")

events = integrator.unweight(2_000)
print(f"{len(events)} events from {events.n_trials} trials: efficiency {events.efficiency:.3f}, "
      f"over-weight fraction {events.overweight_fraction:.1e}")
left = float((events.x[:, 0] < 0.5).double().mean())
print(f"fraction of events in the left half: {left:.3f} (the camel is symmetric: 0.5)")
