"""Aiming a projectile through a simulation with air drag.

A ball is launched from the ground at `angle` (degrees) and `speed` (m/s).
Gravity pulls it down and quadratic drag slows it (the drag force is
proportional to |v| v), so there is no closed-form range formula.  We simulate
it with explicit Euler steps inside a ``while`` loop that runs until the ball
is below the ground, then interpolate linearly between the last two positions
to find where it crossed y = 0.  The interpolation makes the landing distance
a smooth function of the launch parameters even though the number of loop
iterations is an integer.

sourcediff differentiates straight through the simulation loop (the reverse
sweep replays the loop backwards, popping the saved states off a tape), and
gradient descent on the squared miss adjusts angle and speed together until
the ball lands on the target.  (Measuring the angle in degrees keeps the two
partial derivatives of similar size, so one plain learning rate suits both.)
"""
import math
import sys

import sourcediff as sd
from _plot import plot_path, save_curve

GRAVITY = 9.81  # m/s^2
DRAG = 0.02     # 1/m: drag deceleration = DRAG * |v| * v
DT = 0.01       # s, Euler time step
TARGET = 30.0   # m


def landing_distance(angle, speed):
    theta = math.radians(angle)
    x = 0.0
    y = 0.0
    vx = speed * math.cos(theta)
    vy = speed * math.sin(theta)
    x_prev = x
    y_prev = y
    while y >= 0.0:
        x_prev = x
        y_prev = y
        v = math.sqrt(vx * vx + vy * vy)
        ax = -DRAG * v * vx
        ay = -GRAVITY - DRAG * v * vy
        x = x + DT * vx
        y = y + DT * vy
        vx = vx + DT * ax
        vy = vy + DT * ay
    # y_prev >= 0 > y: find where the straight segment between them meets y = 0
    return x_prev + (x - x_prev) * y_prev / (y_prev - y)


def miss_squared(angle, speed):
    return (landing_distance(angle, speed) - TARGET) ** 2


def aim(angle, speed, learning_rate=0.1, max_steps=100, history=None):
    """Gradient descent on the squared miss; returns (angle, speed, steps); appends each |miss| to ``history``."""
    dmiss = sd.grad(miss_squared, wrt=("angle", "speed"))
    print("step    angle(deg)   speed(m/s)   landing(m)        miss(m)")
    for step in range(max_steps):
        miss = landing_distance(angle, speed) - TARGET
        print("%4d  %12.6f %12.6f %12.6f %+14.3e"
              % (step, angle, speed, miss + TARGET, miss))
        if history is not None:
            history.append(abs(miss))
        if abs(miss) < 1e-6:
            return angle, speed, step
        d_angle, d_speed = dmiss(angle, speed)
        angle = angle - learning_rate * d_angle
        speed = speed - learning_rate * d_speed
    raise RuntimeError("did not hit the target in %d steps" % max_steps)


def main(argv=()):
    plot = plot_path(argv, __doc__.splitlines()[0])
    angle, speed = 35.0, 20.0
    print("target distance: %.1f m" % TARGET)
    print("start: angle %.1f deg, speed %.1f m/s lands at %.3f m"
          % (angle, speed, landing_distance(angle, speed)))

    # The derivative through the while loop agrees with finite differences.
    sd.check_grads(landing_distance, angle, speed, wrt=("angle", "speed"))
    d_angle, d_speed = sd.grad(landing_distance, wrt=("angle", "speed"))(angle, speed)
    print("d(landing)/d(angle) = %.4f m/deg, d(landing)/d(speed) = %.4f s" % (d_angle, d_speed))
    print()

    history = []
    angle, speed, steps = aim(angle, speed, history=history)
    miss = landing_distance(angle, speed) - TARGET
    print()
    print("hit after %d steps: angle %.4f deg, speed %.4f m/s, miss %.2e m"
          % (steps, angle, speed, abs(miss)))
    assert abs(miss) < 1e-3 * TARGET
    if plot:
        save_curve(plot, history, "Aiming: distance from the target", "|miss| (m)", log=True)


if __name__ == "__main__":
    main(sys.argv[1:])
