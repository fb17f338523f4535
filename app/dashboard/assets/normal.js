// The standard normal quantile, for drawing the largest certifiable radius.
// Acklam's rational approximation: relative error below 1.2e-9 over (0, 1), far finer than
// the four digits the page shows. The certificate's own radius always comes from the server.

const A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
           1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
const B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
           6.680131188771972e+01, -1.328068155288572e+01];
const C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
           -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
const D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
           3.754408661907416e+00];
const LOW = 0.02425;

function tail(q) {
  return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
    / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
}

export function normalQuantile(p) {
  if (!(p > 0 && p < 1)) return p === 1 ? Infinity : p === 0 ? -Infinity : NaN;
  if (p < LOW) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - LOW) return -tail(Math.sqrt(-2 * Math.log1p(-p)));
  const q = p - 0.5;
  const r = q * q;
  return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
    / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
}

/** The largest radius `n` samples can certify (every vote for one class), as the server
 *  would compute it for this certificate: (σ Φ⁻¹(α^(1/n)) − centre error) / lift norm. */
export function largestRadius({n, alpha, sigma, lift_norm: lift = 1, centre_error: centre = 0}) {
  // Φ⁻¹(α^(1/n)) = −Φ⁻¹(1 − α^(1/n)), with 1 − α^(1/n) computed without cancellation.
  const missing = -Math.expm1(Math.log(alpha) / n);
  return Math.max(0, (-sigma * normalQuantile(missing) - centre) / lift);
}
