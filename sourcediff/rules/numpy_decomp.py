"""NumPy rules for matrix decompositions and the functions built on them (``np.linalg``: eigh, eig, svd,
cholesky, qr, slogdet, pinv, lstsq, matrix_power), real matrices, stacked ones too.

Conventions beyond ``numpy_rules.py``:

* A decomposition returns a NamedTuple (``EighResult``...): its adjoint is a tuple with one adjoint per
  field, any of which (or all of it) may be the zero marker ``0.0`` (``fill_pieces`` makes zeros of them);
  its tangent is a tuple with one tangent per field.
* ``eigh``/``eigvalsh`` and ``cholesky`` read one triangle of their input: the symmetric matrix that triangle
  stands for is ``sym_triangle``, and an adjoint goes back onto the triangle read by ``one_triangle``.
* Eigenvector and singular-vector derivatives divide by gaps between eigenvalues (singular values):
  ``gap_inverse``. Where two are equal (to 1e-10 of the largest) they do not exist, and ``distinct``
  refuses at run time with a located ``SourcediffError``, in reverse mode only where the vectors' adjoint is
  not zero (use ``eigvalsh``/``svd(..., compute_uv=False)`` for values alone). A complex ``eig``/``eigvals``
  result is refused at run time the same way (complex numbers are not differentiated).
* ``svd`` with ``full_matrices=True`` (NumPy's default) of a non-square matrix has no derivative (the extra
  singular vectors are arbitrary): refused at run time; pass ``full_matrices=False``. ``qr`` takes the
  ``'reduced'`` and ``'complete'`` modes of a matrix with at least as many rows as columns (``'complete'`` of a
  square one). ``lstsq`` and ``pinv`` are differentiated at constant rank (``pinv``'s formula); ``lstsq``'s
  residuals, rank and singular values have no rule there (its ``x`` only).
"""
import numpy as np

from ..runtime import refusal
from .combinators import linear
from .helpers import fill_pieces
from .registry import checked, jvp, nondiff, refuse, structured, vjp


# --- helpers (each with its own rules, or nondiff) -------------------------------------------------------

def sym_triangle(m, lower=True):
    """The symmetric matrix one triangle of ``m`` stands for (what ``eigh`` and ``cholesky`` read)."""
    t = np.tril(m, -1) if lower else np.triu(m, 1)
    return t + np.swapaxes(t, -1, -2) + m * np.eye(np.shape(m)[-1])


def one_triangle(s, lower=True):
    """The adjoint of ``sym_triangle``: off-diagonal entries of the triangle read get both halves of ``s``."""
    t = s + np.swapaxes(s, -1, -2)
    return (np.tril(t, -1) if lower else np.triu(t, 1)) + s * np.eye(np.shape(s)[-1])


@linear(sym_triangle)
def sym_triangle_vjp(g, ans, m, lower=True): return one_triangle(g, lower)

@linear(one_triangle)
def one_triangle_vjp(g, ans, s, lower=True): return sym_triangle(g, lower)


def distinct(w, t, positive=False):
    """1.0, or a located refusal where ``t`` (an adjoint or tangent that is divided by the gaps of ``w``)
    is not zero and two of the values ``w`` (the last axis) are equal, or (``positive``) one is 0: no
    derivative exists there."""
    if isinstance(t, float) and t == 0.0 or not np.any(t):
        return 1.0
    w = np.asarray(w)
    gaps = np.where(np.eye(w.shape[-1]) > 0, np.inf, np.abs(np.expand_dims(w, -1) - np.expand_dims(w, -2)))
    tol = 1e-10 * max(1.0, float(np.max(np.abs(w)))) if w.size else 0.0
    if w.size and (np.min(gaps) <= tol or positive and np.min(np.abs(w)) <= tol):
        raise refusal("{f} differentiates eigenvectors or singular vectors of a matrix with two equal eigenvalues "
                      "(or singular values): they have no derivative there",
                      hint="differentiate a function of the values alone (np.linalg.eigvalsh, svd(compute_uv=False))")
    return 1.0


def real_spectrum(w):
    """1.0, or a located refusal where ``eig``/``eigvals`` gave complex eigenvalues."""
    if np.iscomplexobj(w):
        raise refusal("np.linalg.eig in {f} gave complex eigenvalues: sourcediff differentiates real ones only",
                      hint="for a symmetric matrix use np.linalg.eigh")
    return 1.0


def full_svd(a, full_matrices):
    """1.0, or a located refusal of the full ``svd`` of a non-square matrix."""
    if full_matrices and np.shape(a)[-1] != np.shape(a)[-2]:
        raise refusal("np.linalg.svd in {f} returns full_matrices of a non-square matrix: its extra singular "
                      "vectors are arbitrary and have no derivative", hint="pass full_matrices=False")
    return 1.0


def qr_shape(a, mode):
    """1.0, or a located refusal of a QR decomposition without a derivative rule: a wide matrix, or the
    complete ``Q`` of a tall one (its extra columns are arbitrary)."""
    m, n = np.shape(a)[-2:]
    if m < n or mode == "complete" and m != n:
        raise refusal("np.linalg.qr in {f} of a %dx%d matrix (mode=%r) has no derivative rule (rules: mode "
                      "'reduced' of a matrix with at least as many rows as columns)" % (m, n, mode),
                      hint="pass mode='reduced', or decompose the transpose")
    return 1.0


nondiff(distinct, real_spectrum, full_svd, qr_shape)


def gap_inverse(w):
    """``F[..., i, j] = 1 / (w_j - w_i)`` where that gap is not 0, else 0 (the diagonal, and equal values,
    whose entries only ever multiply zeros: ``distinct`` refuses the rest)."""
    d = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    return (1.0 - (d == 0)) / (d + (d == 0))


def diag_matrix(w):
    """The matrices with ``w`` (last axis) on their diagonals."""
    return np.expand_dims(w, -1) * np.eye(np.shape(w)[-1])


def diag_part(m):
    """The diagonals of the matrices ``m`` (the adjoint of ``diag_matrix``)."""
    return np.diagonal(m, 0, -2, -1)


@vjp(gap_inverse)
def gap_inverse_vjp(g, ans, w): return np.sum(-g * ans * ans, -2) - np.sum(-g * ans * ans, -1)
@jvp(gap_inverse)
def gap_inverse_jvp(dw, ans, w): return -ans * ans * (np.expand_dims(dw, -2) - np.expand_dims(dw, -1))

@linear(diag_matrix)
def diag_matrix_vjp(g, ans, w): return diag_part(g)

@linear(diag_part)
def diag_part_vjp(g, ans, m): return diag_matrix(g)


# --- symmetric eigenproblems -------------------------------------------------------------------------------
# A = V diag(w) V^T: dw = diag(P), dV = V (F o P) with P = V^T dA V; the adjoint of A is V (diag(gw) + F o V^T gV) V^T

structured(np.linalg.eigh, np.linalg.eig, np.linalg.svd, np.linalg.qr, np.linalg.slogdet, np.linalg.lstsq)


@vjp(np.linalg.eigh)
def eigh_vjp(g, ans, a, UPLO="L"):
    gw, gv = fill_pieces(g, ans)
    f = gap_inverse(ans[0]) * distinct(ans[0], gv)
    s = np.matmul(ans[1], np.matmul(diag_matrix(gw) + f * np.matmul(np.swapaxes(ans[1], -1, -2), gv),
                                    np.swapaxes(ans[1], -1, -2)))
    return one_triangle(s, UPLO in ("L", "l"))
@jvp(np.linalg.eigh)
def eigh_jvp(da, ans, a, UPLO="L"):
    p = np.matmul(np.swapaxes(ans[1], -1, -2), np.matmul(sym_triangle(da, UPLO in ("L", "l")), ans[1]))
    return [diag_part(p), np.matmul(ans[1], gap_inverse(ans[0]) * distinct(ans[0], da) * p)]

@vjp(np.linalg.eigvalsh)
def eigvalsh_vjp(g, ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    return one_triangle(np.matmul(v, np.matmul(diag_matrix(g), np.swapaxes(v, -1, -2))), UPLO in ("L", "l"))
@jvp(np.linalg.eigvalsh)
def eigvalsh_jvp(da, ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    return diag_part(np.matmul(np.swapaxes(v, -1, -2), np.matmul(sym_triangle(da, UPLO in ("L", "l")), v)))


# --- general eigenproblems (real eigenvalues) ---------------------------------------------------------------
# A = V diag(w) V^-1 with unit columns: dw = diag(P), dV = V (F o P) - V diag(V^T V (F o P)), P = V^-1 dA V;
# the adjoint of A is V^-T (diag(gw) + F o X) V^T, X = V^T gV - V^T V diag(diag(V^T gV)).

@vjp(np.linalg.eig)
def eig_vjp(g, ans, a):
    gw, gv = fill_pieces(g, ans)
    f = gap_inverse(ans[0]) * distinct(ans[0], gv) * real_spectrum(ans[0])
    vtg = np.matmul(np.swapaxes(ans[1], -1, -2), gv)
    x = vtg - np.matmul(np.matmul(np.swapaxes(ans[1], -1, -2), ans[1]), diag_matrix(diag_part(vtg)))
    return np.matmul(np.linalg.solve(np.swapaxes(ans[1], -1, -2), diag_matrix(gw) + f * x), np.swapaxes(ans[1], -1, -2))
@jvp(np.linalg.eig)
def eig_jvp(da, ans, a):
    p = np.linalg.solve(ans[1], np.matmul(da, ans[1]))
    dv = np.matmul(ans[1], gap_inverse(ans[0]) * distinct(ans[0], da) * real_spectrum(ans[0]) * p)
    return [diag_part(p), dv - ans[1] * np.expand_dims(diag_part(np.matmul(np.swapaxes(ans[1], -1, -2), dv)), -2)]

@vjp(np.linalg.eigvals)
def eigvals_vjp(g, ans, a):
    v = np.linalg.eig(a)[1]
    return np.matmul(np.linalg.solve(np.swapaxes(v, -1, -2), diag_matrix(g * real_spectrum(ans))),
                     np.swapaxes(v, -1, -2))
@jvp(np.linalg.eigvals)
def eigvals_jvp(da, ans, a):
    v = np.linalg.eig(a)[1]
    return diag_part(np.linalg.solve(v, np.matmul(da, v))) * real_spectrum(ans)


# --- singular values ------------------------------------------------------------------------------------------
# A = U diag(s) V^T (thin): with F_ij = 1 / (s_j^2 - s_i^2), J = F o (U^T gU - gU^T U), K = F o (V^T gV - gV^T V),
# the adjoint of A is U (diag(gs) + J S + S K) V^T + (I - U U^T) gU S^-1 V^T + U S^-1 gV^T (I - V V^T).

def _svd_refusal(literal, given):
    """``hermitian=True``: NumPy then reads one triangle through ``eigh``."""
    if "hermitian" in given and literal.get("hermitian", True) is not False:
        return "np.linalg.svd(..., hermitian=True) has no derivative rule (it reads one triangle): leave it False"


@vjp(np.linalg.svd)
@checked(_svd_refusal)
def svd_vjp(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    usv = ans if compute_uv else np.linalg.svd(a, False)
    gu, gs, gvh = fill_pieces(g, usv) if compute_uv else fill_pieces([0.0, g, 0.0], usv)
    f = (gap_inverse(usv[1] * usv[1]) * distinct(usv[1], gu, np.shape(a)[-1] != np.shape(a)[-2]) *
         distinct(usv[1], gvh, np.shape(a)[-1] != np.shape(a)[-2]) * full_svd(a, full_matrices and compute_uv))
    utg = np.matmul(np.swapaxes(usv[0], -1, -2), gu)
    vtg = np.matmul(usv[2], np.swapaxes(gvh, -1, -2))
    core = (diag_matrix(gs) + f * (utg - np.swapaxes(utg, -1, -2)) * np.expand_dims(usv[1], -2) +
            f * (vtg - np.swapaxes(vtg, -1, -2)) * np.expand_dims(usv[1], -1))
    sinv = np.expand_dims(1.0 / (usv[1] + (usv[1] == 0)), -2)
    return (np.matmul(np.matmul(usv[0], core) + (gu - np.matmul(usv[0], utg)) * sinv, usv[2]) +
            np.matmul(usv[0] * sinv, gvh - np.matmul(np.swapaxes(vtg, -1, -2), usv[2])))
@jvp(np.linalg.svd)
@checked(_svd_refusal)
def svd_jvp(da, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    usv = ans if compute_uv else np.linalg.svd(a, False)
    p = np.matmul(np.swapaxes(usv[0], -1, -2), np.matmul(da, np.swapaxes(usv[2], -1, -2)))
    f = (gap_inverse(usv[1] * usv[1]) *
         distinct(usv[1], da if compute_uv else 0.0, np.shape(a)[-1] != np.shape(a)[-2]) *
         full_svd(a, full_matrices and compute_uv))
    ps = p * np.expand_dims(usv[1], -2)
    sp = p * np.expand_dims(usv[1], -1)
    sinv = np.expand_dims(1.0 / (usv[1] + (usv[1] == 0)), -2)
    dav = np.matmul(da, np.swapaxes(usv[2], -1, -2))
    du = np.matmul(usv[0], f * (ps + np.swapaxes(ps, -1, -2))) + (dav - np.matmul(usv[0], np.matmul(
        np.swapaxes(usv[0], -1, -2), dav))) * sinv
    dtu = np.matmul(np.swapaxes(da, -1, -2), usv[0])
    dv = np.matmul(np.swapaxes(usv[2], -1, -2), f * (sp + np.swapaxes(sp, -1, -2))) + (dtu - np.matmul(
        np.swapaxes(usv[2], -1, -2), np.matmul(usv[2], dtu))) * sinv
    return [du, diag_part(p), np.swapaxes(dv, -1, -2)] if compute_uv else diag_part(p)


# --- cholesky, qr, slogdet ---------------------------------------------------------------------------------------
# cholesky: a = L L^T; dL = L Phi(L^-1 da L^-T), Phi the lower triangle with half the diagonal. The adjoint of the
# symmetric a is L^-T Phi(L^T gL) L^-1 symmetrised, then put on the triangle read.

@vjp(np.linalg.cholesky)
def cholesky_vjp(g, ans, a, upper=False):
    ll = np.swapaxes(ans, -1, -2) if upper else ans
    p = np.matmul(np.swapaxes(ll, -1, -2), np.swapaxes(g, -1, -2) if upper else g)
    p = np.tril(p) - 0.5 * p * np.eye(np.shape(p)[-1])
    y = np.linalg.solve(np.swapaxes(ll, -1, -2), p)
    s = np.swapaxes(np.linalg.solve(np.swapaxes(ll, -1, -2), np.swapaxes(y, -1, -2)), -1, -2)
    return one_triangle(0.5 * (s + np.swapaxes(s, -1, -2)), not upper)
@jvp(np.linalg.cholesky)
def cholesky_jvp(da, ans, a, upper=False):
    ll = np.swapaxes(ans, -1, -2) if upper else ans
    m = np.linalg.solve(ll, np.swapaxes(np.linalg.solve(ll, sym_triangle(da, not upper)), -1, -2))
    dl = np.matmul(ll, np.tril(m) - 0.5 * m * np.eye(np.shape(m)[-1]))
    return np.swapaxes(dl, -1, -2) if upper else dl

# qr (m >= n, reduced): with C = Q^T dA R^-1 and O = tril(C, -1) - tril(C, -1)^T, dR = (C - O) R and
# dQ = (I - Q Q^T) dA R^-1 + Q O; the adjoint of A is (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q.

def _qr_refusal(literal, given):
    """A literal ``mode`` other than the decompositions (``'r'``, ``'raw'``)."""
    if literal.get("mode", "reduced") not in ("reduced", "complete"):
        return "np.linalg.qr(..., mode=%r) has no derivative rule (rules: mode 'reduced')" % (literal["mode"],)


@vjp(np.linalg.qr)
@checked(_qr_refusal)
def qr_vjp(g, ans, a, mode="reduced"):
    gq, gr = fill_pieces(g, ans)
    m = (np.matmul(ans[1], np.swapaxes(gr, -1, -2)) - np.matmul(np.swapaxes(gq, -1, -2), ans[0])) * qr_shape(a, mode)
    b = gq + np.matmul(ans[0], np.tril(m, -1) + np.swapaxes(np.tril(m, -1), -1, -2) + diag_matrix(diag_part(m)))
    return np.swapaxes(np.linalg.solve(ans[1], np.swapaxes(b, -1, -2)), -1, -2)
@jvp(np.linalg.qr)
@checked(_qr_refusal)
def qr_jvp(da, ans, a, mode="reduced"):
    dar = np.swapaxes(np.linalg.solve(np.swapaxes(ans[1], -1, -2) * qr_shape(a, mode), np.swapaxes(da, -1, -2)), -1, -2)
    c = np.matmul(np.swapaxes(ans[0], -1, -2), dar)
    o = np.tril(c, -1) - np.swapaxes(np.tril(c, -1), -1, -2)
    return [dar - np.matmul(ans[0], c) + np.matmul(ans[0], o), np.matmul(c - o, ans[1])]

@vjp(np.linalg.slogdet)
def slogdet_vjp(g, ans, a):
    gl = fill_pieces(g, ans)[1]
    return np.expand_dims(np.expand_dims(gl, -1), -1) * np.swapaxes(np.linalg.inv(a), -1, -2)
@jvp(np.linalg.slogdet)
def slogdet_jvp(da, ans, a):
    return [np.zeros_like(ans[0]), np.trace(np.linalg.solve(a, da), axis1=-2, axis2=-1)]


# --- pinv, lstsq, matrix_power -------------------------------------------------------------------------------------
# pinv at constant rank, P = pinv(A): dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P, whose adjoint is
# -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A).

def _hermitian_refusal(literal, given):
    if "hermitian" in given and literal.get("hermitian", True) is not False:
        return "np.linalg.pinv(..., hermitian=True) has no derivative rule (it reads one triangle): leave it False"


@vjp(np.linalg.pinv)
@checked(_hermitian_refusal)
def pinv_vjp(g, ans, a, rcond=None, hermitian=False):
    pt = np.swapaxes(ans, -1, -2)
    gt = np.swapaxes(g, -1, -2)
    return (-np.matmul(pt, np.matmul(g, pt)) + np.matmul(gt - np.matmul(a, np.matmul(ans, gt)), np.matmul(ans, pt)) +
            np.matmul(np.matmul(pt, ans), gt - np.matmul(np.matmul(gt, ans), a)))
@jvp(np.linalg.pinv)
@checked(_hermitian_refusal)
def pinv_jvp(da, ans, a, rcond=None, hermitian=False):
    pt = np.swapaxes(ans, -1, -2)
    dt = np.swapaxes(da, -1, -2)
    return (-np.matmul(ans, np.matmul(da, ans)) + np.matmul(np.matmul(ans, pt), dt - np.matmul(np.matmul(dt, a), ans)) +
            np.matmul(dt - np.matmul(ans, np.matmul(a, dt)), np.matmul(pt, ans)))

# matrix_power: its derivative in the direction e is the top right block of [[a, e], [0, a]] ** n, and the
# adjoint of that map is the same map of (a^T, g).
@vjp(np.linalg.matrix_power)
def matrix_power_vjp(g, ans, a, n):
    top = np.concatenate([np.swapaxes(a, -1, -2), g], -1)
    low = np.concatenate([np.zeros_like(g), np.swapaxes(a, -1, -2)], -1)
    return np.linalg.matrix_power(np.concatenate([top, low], -2), n)[..., :np.shape(a)[-1], np.shape(a)[-1]:]
@jvp(np.linalg.matrix_power)
def matrix_power_jvp(da, ans, a, n):
    top = np.concatenate([a, da], -1)
    low = np.concatenate([np.zeros_like(da), a], -1)
    return np.linalg.matrix_power(np.concatenate([top, low], -2), n)[..., :np.shape(a)[-1], np.shape(a)[-1]:]

# lstsq(a, b) = (x, residuals, rank, s) at constant rank: x = pinv(a) b (pinv's derivative), the residuals
# |b - a x|^2 move by 2 r^T (db - da x) (a^T r = 0), the singular values as svd's; a 1-D b is one column.
@vjp(np.linalg.lstsq)
def lstsq_vjp(g, ans, a, b, rcond=None):
    gx, gres, grank, gs = fill_pieces(g, ans)
    p = np.linalg.pinv(a)
    bc = np.expand_dims(b, -1) if np.ndim(b) == 1 else b
    xc = np.expand_dims(ans[0], -1) if np.ndim(b) == 1 else ans[0]
    gxc = np.expand_dims(gx, -1) if np.ndim(b) == 1 else gx
    rg = 2.0 * (bc - np.matmul(a, xc)) * (gres if np.size(ans[1]) else 0.0)
    gp = np.matmul(gxc, np.swapaxes(bc, -1, -2))
    usv = np.linalg.svd(a, False)
    return (-np.matmul(np.swapaxes(p, -1, -2), np.matmul(gp, np.swapaxes(p, -1, -2))) +
            np.matmul(np.swapaxes(gp, -1, -2) - np.matmul(a, np.matmul(p, np.swapaxes(gp, -1, -2))),
                      np.matmul(p, np.swapaxes(p, -1, -2))) +
            np.matmul(np.matmul(np.swapaxes(p, -1, -2), p),
                      np.swapaxes(gp, -1, -2) - np.matmul(np.matmul(np.swapaxes(gp, -1, -2), p), a)) -
            np.matmul(rg, np.swapaxes(xc, -1, -2)) + np.matmul(usv[0] * np.expand_dims(gs, -2), usv[2]),
            np.reshape(np.matmul(np.swapaxes(p, -1, -2), gxc) + rg, np.shape(b)))
@jvp(np.linalg.lstsq)
def lstsq_jvp(da, db, ans, a, b, rcond=None):
    p = np.linalg.pinv(a)
    bc = np.expand_dims(b, -1) if np.ndim(b) == 1 else b
    xc = np.expand_dims(ans[0], -1) if np.ndim(b) == 1 else ans[0]
    dbc = np.expand_dims(db, -1) if np.ndim(b) == 1 else db
    r = bc - np.matmul(a, xc)
    dt = np.swapaxes(da, -1, -2)
    dp = (-np.matmul(p, np.matmul(da, p)) + np.matmul(np.matmul(p, np.swapaxes(p, -1, -2)),
                                                      dt - np.matmul(np.matmul(dt, a), p)) +
          np.matmul(dt - np.matmul(p, np.matmul(a, dt)), np.matmul(np.swapaxes(p, -1, -2), p)))
    usv = np.linalg.svd(a, False)
    return ([np.reshape(np.matmul(dp, bc), np.shape(ans[0])),
             np.reshape(-2.0 * np.sum(r * np.matmul(da, xc), -2), np.shape(ans[1])) if np.size(ans[1]) else
             np.zeros_like(ans[1]), np.zeros_like(ans[2]),
             diag_part(np.matmul(np.swapaxes(usv[0], -1, -2), np.matmul(da, np.swapaxes(usv[2], -1, -2))))],
            [np.reshape(np.matmul(p, dbc), np.shape(ans[0])),
             np.reshape(2.0 * np.sum(r * dbc, -2), np.shape(ans[1])) if np.size(ans[1]) else np.zeros_like(ans[1]),
             np.zeros_like(ans[2]), np.zeros_like(ans[3])])


# --- the spectral and nuclear matrix norms (np.linalg.norm, matrix_norm: ord 2, -2, 'nuc') --------------------------
# |X|_2 = s_max, |X|_-2 = s_min, |X|_nuc = sum(s): d|X| = sum_i w_i u_i^T dX v_i with w the weights of the singular
# values taken (ties of s_max or s_min share their weight evenly, as np.max's rule does).

def spectral(x, ord, axis=None):
    """Is ``np.linalg.norm(x, ord, axis)`` a matrix norm of the singular values (ord 2, -2, 'nuc')? A located
    refusal for an order no norm rule takes (one the call gives as a variable, or a negative literal)."""
    matrix = axis is None and np.ndim(x) == 2 or isinstance(axis, (tuple, list)) and len(axis) == 2
    if ord is None or isinstance(ord, str) and ord == "fro":
        return False
    if matrix and not (isinstance(ord, str) and ord == "nuc" or ord in (2, -2)):
        raise refusal("the matrix norm ord=%r in {f} has no derivative rule (rules: Frobenius, nuclear, 2, -2)"
                      % (ord,))
    if not matrix and (isinstance(ord, str) or not 1 <= ord < np.inf):
        raise refusal("the vector norm ord=%r in {f} has no derivative rule (rules: p >= 1, not inf)" % (ord,))
    return matrix


def _matrix_axes(x, axis):
    return (0, 1) if axis is None else tuple(axis)


def _weights(s, ord):
    """The weight of each singular value in the norm ``ord``."""
    if ord == "nuc":
        return np.ones_like(s)
    pick = np.max(s, -1, keepdims=True) if ord == 2 else np.min(s, -1, keepdims=True)
    hit = (s == pick) * 1.0
    return hit / np.sum(hit, -1, keepdims=True)


def spectral_grad(g, x, ord, axis=None):
    """The adjoint of ``x`` from the adjoint ``g`` of its spectral or nuclear norm (``spectral``)."""
    xm = np.moveaxis(x, _matrix_axes(x, axis), (-2, -1))
    u, s, vh = np.linalg.svd(xm, full_matrices=False)
    w = _weights(s, ord) * np.reshape(g, np.shape(s)[:-1] + (1,))
    return np.moveaxis(np.matmul(u * np.expand_dims(w, -2), vh), (-2, -1), _matrix_axes(x, axis))


def spectral_tangent(t, x, ord, axis, like):
    """The tangent of the spectral or nuclear norm ``like`` of ``x`` when ``x`` moves by ``t``."""
    xm = np.moveaxis(x, _matrix_axes(x, axis), (-2, -1))
    u, s, vh = np.linalg.svd(xm, full_matrices=False)
    p = np.matmul(np.swapaxes(u, -1, -2), np.matmul(np.moveaxis(t, _matrix_axes(x, axis), (-2, -1)),
                                                     np.swapaxes(vh, -1, -2)))
    return np.reshape(np.sum(_weights(s, ord) * np.diagonal(p, 0, -2, -1), -1), np.shape(like))


nondiff(spectral)
SECOND = "the second derivative of a spectral or nuclear matrix norm is not implemented"


@linear(spectral_grad, kwargs=())
def spectral_grad_vjp(h, ans, g, x, ord, axis=None): return spectral_tangent(h, x, ord, axis, g), None

@linear(spectral_tangent)
def spectral_tangent_vjp(h, ans, t, x, ord, axis, like): return spectral_grad(h, x, ord, axis), None


refuse(spectral_grad, SECOND, 1)
refuse(spectral_tangent, SECOND, 1)
