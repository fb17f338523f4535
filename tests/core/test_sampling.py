"""Fixed seeds give the same samples and certificates for any batch size."""

import pytest
import torch

from certify_core import CertifyOptions, certify
from certify_core.models.architectures import fmnist_cnn
from certify_core.sampling import NoiseStream
from tests.core.helpers import as_loaded


def test_noise_stream_does_not_depend_on_how_it_is_taken() -> None:
    shape = torch.Size((1, 5, 7))  # 35 elements: not a multiple of any vector width
    whole = NoiseStream(shape, torch.Generator().manual_seed(3), torch.device("cpu")).take(1500)
    stream = NoiseStream(shape, torch.Generator().manual_seed(3), torch.device("cpu"))
    pieces = [stream.take(size) for size in (1, 2, 600, 3, 894)]
    assert torch.equal(torch.cat(pieces), whole)


def test_noisy_inputs_are_the_scaled_and_shifted_stream_bit_for_bit() -> None:
    """`noisy` skips joining a batch that spans blocks; its inputs must not change at all."""
    shape = torch.Size((1, 28, 28))  # blocks of 512 samples: 900 spans two or three
    center = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    joined = NoiseStream(shape, torch.Generator().manual_seed(3), torch.device("cpu"))
    direct = NoiseStream(shape, torch.Generator().manual_seed(3), torch.device("cpu"))
    for size in (900, 100, 900, 512, 1, 1700):
        expected = joined.take(size).mul_(0.37).add_(center)
        assert torch.equal(direct.noisy(size, 0.37, center), expected), size


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return as_loaded(fmnist_cnn(), (1, 28, 28), 10, 0.25)


@pytest.mark.slow  # over 10 s on 2 busy cores: `make test` runs it, `make test-fast` not
@pytest.mark.parametrize(
    "options",
    [
        CertifyOptions(n0=20, n=150),
        CertifyOptions(method="smooth-reduce", noise="shared", n0=10, n=60),
        CertifyOptions(method="smooth-reduce", noise="independent", aggregate="max",
                       n0=10, n=60, patches=5),
    ],
    ids=["cohen", "smooth-reduce-shared", "smooth-reduce-independent"],
)
def test_certificate_is_batch_size_invariant(cnn, options: CertifyOptions) -> None:
    x = torch.rand((1, 28, 28), generator=torch.Generator().manual_seed(1))
    results = []
    for batch_size in (7, 37, 450, 10_000):
        cert = certify(cnn, x, CertifyOptions(**{**options.to_dict(), "batch_size": batch_size}),
                       seed=99)
        results.append((cert.selection_counts, cert.estimation_counts, cert.radius, cert.label))
    assert all(result == results[0] for result in results)


def test_different_seeds_give_different_samples(cnn) -> None:
    x = torch.full((1, 28, 28), 0.5)
    options = CertifyOptions(n0=10, n=200, sigma=1.0)
    a = certify(cnn, x, options, seed=1).estimation_counts
    b = certify(cnn, x, options, seed=2).estimation_counts
    assert a != b


def test_progress_and_cancellation(cnn) -> None:
    from certify_core import CertificationCanceled

    seen: list[tuple[int, int]] = []
    x = torch.rand((1, 28, 28))
    certify(cnn, x, CertifyOptions(n0=10, n=100, batch_size=40), seed=0,
            progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (110, 110)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    calls = 0

    def cancel_after_two() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2

    with pytest.raises(CertificationCanceled):
        certify(cnn, x, CertifyOptions(n0=10, n=1000, batch_size=40), seed=0,
                should_cancel=cancel_after_two)
    assert calls == 3  # stopped at the first check after the flag was raised


def test_constant_classifier_gives_the_exact_maximum(cnn) -> None:
    from scipy.stats import norm

    class Constant(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tensor([0.0, 1.0, 0.0]).expand(x.shape[0], 3)

    model = as_loaded(Constant(), (1, 4, 4), 3, 0.5)
    n, alpha = 500, 0.01
    for options in (CertifyOptions(n=n, alpha=alpha),
                    CertifyOptions(method="smooth-reduce", noise="independent", n=n, alpha=alpha)):
        cert = certify(model, torch.rand(1, 4, 4), options, seed=0)
        assert cert.label == 1 and cert.n_a == n
        assert cert.p_lower == pytest.approx(alpha ** (1 / n), rel=1e-12)
        exact = (0.5 * norm.ppf(alpha ** (1 / n)) - cert.centre_error) / cert.lift_norm
        assert cert.radius is not None and exact * (1 - 1e-8) <= cert.radius <= exact


class Threshold(torch.nn.Module):
    """One-pixel classifier 1[x > t]: under N(0, sigma^2) noise, P(class 1) = Phi((x - t) / sigma)."""

    def __init__(self, t: float) -> None:
        super().__init__()
        self.t = t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        above = (x.flatten(1)[:, 0] > self.t).float()
        return torch.stack([1 - above, above], dim=1)


def test_end_to_end_coverage_on_a_classifier_with_known_p() -> None:
    """Through the sampler: p_lower exceeds the true p at a rate consistent with alpha.

    400 certifications at alpha = 0.05; for a valid bound the violation count
    is at most Binomial(400, 0.05), so the assertion fails with probability
    below 1e-6 (the threshold is that binomial's 1 - 1e-6 quantile).
    """
    from scipy.stats import binom, norm

    sigma, alpha, runs = 0.5, 0.05, 400
    x = torch.full((1, 1, 1), 0.6)
    model = as_loaded(Threshold(0.3), (1, 1, 1), 2, sigma)
    p_true = float(norm.cdf((0.6 - 0.3) / sigma))  # ~0.726
    options = CertifyOptions(n0=10, n=100, alpha=alpha, batch_size=110)
    violations = sum(certify(model, x, options, seed=s).p_lower > p_true for s in range(runs))
    assert violations <= binom.ppf(1 - 1e-6, runs, alpha)
    assert violations >= 1  # the bound is not vacuous either (P(0 violations) is tiny)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_certificates_are_batch_size_invariant() -> None:
    torch.manual_seed(0)
    module = fmnist_cnn().cuda().eval().to(memory_format=torch.channels_last)
    model = as_loaded(module, (1, 28, 28), 10, 0.25)
    model = type(model)(model.name, module, model.manifest, model.sha256, torch.device("cuda"))
    x = torch.rand((1, 28, 28))
    certs = [certify(model, x, CertifyOptions(method="smooth-reduce", noise="independent",
                                              n0=50, n=2000, batch_size=b), seed=4)
             for b in (90, 900, 9000)]
    assert len({(tuple(c.estimation_counts), c.radius) for c in certs}) == 1
