"""Programs the soak once found wrong or crashing, frozen as source: tests/programs.py drew them from these
seeds before its grammar grew (a new piece changes what a seed draws)."""
from numpy import array

CASES = [
    (47280, """\
import math
import numpy as np


def h0(p0, p1):
    pass
    return (-np.sum((p1[1, 1] - p1)))


def h1(p0):
    n0 = 0
    while n0 < 3:
        n0 += 1
        if math.tanh((p0 + p0)) < 1.0:
            break
        p0 = 0.5 * p0 + 0.5 * math.tanh(p0)
    return p0


def main(x0, x1, x2):
    v1 = math.sin((0.25 * (math.exp(math.sin(x2))) ** 2))
    n2 = 0
    while n2 < 1:
        n2 += 1
        if n2 % 2 == 0:
            break
    for k in range(4):
        v3 = math.sin((h1(h1((0.25 * k))) + 0.5))
        v4 = math.cos((-math.tanh(v3)))
        if k > 1:
            v3 = math.cos(((-h1(0.5))) ** 3)
            x1 *= 0.5 * math.tanh(x2)
        else:
            v3 = 0.5 * v3 + 0.5 * math.tanh(2.0)
    y5 = np.zeros(3)
    for i6 in range(3):
        y5[i6] = math.cos(h1(math.tanh(((0.25 * i6) + x0))))
    for i7 in range(2):
        for i8 in range(1):
            x2 = 0.5 * x2 + 0.5 * math.tanh((y5[0]) ** 2)
        n9 = 0
        while n9 < 2 and x0 < 2.0:
            n9 += 1
            x1 = math.cos(math.tanh((math.exp(-x1 * x1) / -1.5)))
        if i7 % 2 == 0:
            y5 = np.tanh(np.log(1.0 + (y5 * y5) * (y5 * y5)))
    return (-x1)
""",
     [-1.4455077516533588,
      1.375408021960446,
      0.9249588574273901]),
    (211368, """\
import math
import numpy as np


def h0(p0):
    v0 = math.tanh(p0)
    return (v0) ** 3


def main(x0):
    for k in range(1):
        if k % 2 == 0:
            if math.cos((0.25 * k)) > 0.5:
                break
            v1 = math.tanh(x0)
        else:
            v2 = math.sin((h0(h0((0.25 * k))) + math.exp(0.5 * math.tanh((2.0) ** 2))))
            v3 = math.cos(math.exp(math.sin(0.25)))
        if (h0(x0)) ** 2 >= h0((0.25 * k)):
            return x0
    v4 = (h0(x0) + (x0 + (x0 + 2.0)))
    x0 = (((v4 + 0.5)) ** 3) ** 2
    y5 = np.zeros((2, 3))
    for i6 in range(3):
        y5[1, i6] = math.sin((h0((v4) ** 3)) ** 2)
    y7 = np.zeros(3)
    for i8 in range(3):
        y7[i8] = math.cos(((-(x0 / 0.5)) + y5[0, 0]))
    y5 = np.log(1.0 + (np.tanh(y7) * y5) * (np.tanh(y7) * y5))
    return math.sin(y7[2])
""",
     [0.7568547214812313]),
    (222656, """\
import math
import numpy as np


def h0(p0):
    p0 = math.cos((((p0 + p0) * (p0) ** 2)) ** 3)
    for k in range(2):
        p0 += 0.5 * math.tanh(((p0 - math.cos(p0))) ** 2)
        v0 = math.cos((((3.0 * p0) - ((0.25 * k) - 3.0)) - math.exp(math.sin((p0 * (0.25 * k))))))
        p0 -= 0.5 * math.tanh(math.exp(math.sin(v0)))
    for i1 in range(4):
        p0 += 0.5 * math.tanh((math.cos((p0 / 3.0)) * ((p0 + p0)) ** 3))
        if p0 <= math.sin(math.tanh((0.25 * i1))):
            continue
        p0 = math.sin(p0)
    return (((p0 - p0) + p0) / 0.5)


def h1(p0):
    p0 -= 0.5 * math.tanh((p0 / (1.5 + h0((2.0 * p0)) * h0((2.0 * p0)))))
    p0 = (p0 - h0(p0))
    return h0(((p0 + p0) + h0(-0.75)))


def main(x0, x1, a0):
    v2 = math.tanh((-x1))
    v3 = math.cos((math.tanh(h0(x0)) - (math.cos(v2)) ** 2))
    return h1(math.tanh(x0))
""",
     [-0.26071878537491955,
      0.03983096029086619,
      array([[-0.2714846619832194], [0.6446060744584283]])]),
    (137536, """\
import math
import numpy as np


def h0(p0):
    if p0 >= 1.0:
        v0 = math.tanh(1.0)
    if math.log(1 + 0.25 * 0.25) <= math.sin(math.sin(p0)):
        v1 = p0
    else:
        p0 = p0
    if p0 <= math.sin((-p0)):
        return p0
    return (2.0 - math.log(1 + math.log(1 + p0 * p0) * math.log(1 + p0 * p0)))


def main(x0, x1, x2, a0, a1):
    a0 = (np.tanh(a0) + math.cos((-a1[1, 0])))
    return np.mean(a0)
""",
     [-0.6502755451873637,
      -0.32194168811239443,
      1.240255215231981,
      array([-1.1125146818584875, 0.3925415204635119, -0.7811613673410404]),
      array([[0.05552193383951054, 0.7653454728300821, -0.20458457408116915],
             [0.560428227808043, 0.6195954612284487, -1.3556758236546314]])]),
    (429008, """\
import math
import numpy as np


def h0(p0):
    v0 = math.sin(math.cos(((p0) ** 3) ** 3))
    p0 = (math.exp(-v0 * v0) + ((p0) ** 2 + (p0 - 3.0)))
    return (-p0)


def main(x0):
    n1 = 0
    while n1 < 3:
        n1 += 1
        x0 = math.tanh(x0)
        x0 -= 0.5 * math.tanh(x0)
        x0 = math.sin(math.sin(h0(h0(x0))))
    return math.cos(math.exp(-math.exp(math.sin(x0)) * math.exp(math.sin(x0))))
""",
     [-0.21110000199423462]),
    (21856, """\
import math
import numpy as np
from scipy import special, stats


def h0(p0, p1):
    w0 = (0.25 * np.stack([np.log(1.0 + (p1[1, 2] + np.zeros(3)) * (p1[1, 2] + np.zeros(3))), (3.0 + np.zeros(3))]))
    L1 = []
    L1.append((p0 + (-(w0[0, 2]) ** 3)))
    L1.append(np.mean([p0 for j2 in range(1)]))
    L1.append(p0)
    return stats.norm.logpdf(w0[1, 1], scale=1.5, loc=math.cos(math.exp(0.5 * math.tanh(p0))))


def h1(p0, p1, c0=1.5, c1=0.25):
    pass
    return 0.25


def main(x0, x1, x2, a0):
    L3 = []
    for i4 in range(1):
        L3.append(math.sin(np.sum((math.pow(0.0, (1.5 + a0[1, 0] * a0[1, 0])) - ((0.25 * i4) * a0)))))
    a0 = np.tanh(1.0 * a0)
    x0 = math.sin(L3[0])
    v5 = math.cos(math.sin((math.cos(3.0) - (a0[0, 0] / -1.5))))
    return L3[0]
""",
     [-1.3973212264191124, -0.5352557179177656, -0.6320710170298958, array([[0.03540403569846284],
       [0.9172415055063419 ]])]),
]
