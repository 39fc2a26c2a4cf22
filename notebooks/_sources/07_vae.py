# %% [markdown]
# # 07 · The recipe on a VAE
#
# Nothing in the recipe is specific to classification. This notebook runs it on a variational
# autoencoder (VAE) for the 8x8 digits: a net that squeezes each image through a 4-number code
# and rebuilds it. Its loss has two parts:
#
# - **reconstruction**: how well the decoded image matches the input (binary cross-entropy per
#   pixel, summed over the 64 pixels);
# - **KL**: how far the code distribution of each image is from a standard normal, the price
#   paid for every nat of information the code carries.
#
# The same questions apply: is the loss at init what it should be, can the net memorize one
# batch, does it learn from its input, does each part of the loss move as expected?

# %%
%load_ext recipe_widgets
import recipe_widgets as rw

# %%
import math

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

torch.set_num_threads(1)  # tiny nets: one thread is faster on a busy CPU and reproducible
rw.seed_everything(0)

digits = load_digits()
# Binarized pixels (on where the grey level is at least half): the Bernoulli decoder below can
# then reach a reconstruction loss of 0, which the overfit check relies on.
X = torch.tensor(digits.data >= 8, dtype=torch.float32)  # (N, 64) in {0, 1}
X = X[torch.randperm(len(X), generator=torch.Generator().manual_seed(0))]
X_fit, X_val = X[:1400], X[1400:]
print(f"{len(X_fit)} training and {len(X_val)} validation images, {X.mean():.1%} of pixels on")

# %% [markdown]
# ## The model and its loss
#
# The VAE returns three tensors: the decoder's logits and the code's mean and log-variance. In
# train mode it samples the code; in eval mode it uses the mean, so evaluation is deterministic.

# %%
Z = 4  # size of the code


class VAE(nn.Module):
    def __init__(self, z: int = Z, hidden: int = 128) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z))
        self.dec = nn.Sequential(nn.Linear(z, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(x).chunk(2, dim=-1)  # (B, Z) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.dec(z), mu, logvar  # logits (B, 64), (B, Z), (B, Z)


def make_vae() -> VAE:
    torch.manual_seed(0)
    return VAE()

# %% [markdown]
# `rw.check` feeds the loss one tensor (`loss_fn(output, targets)`). A VAE returns a tuple, so
# `output_fn=pack` concatenates it into one `(B, 64 + 2Z)` tensor and the loss splits it again.
# The targets are the inputs themselves: `data=(X_fit, X_fit)`.

# %%
def pack(out: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat(out, dim=-1)  # (B, 64 + Z + Z)


def loss_terms(packed: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example reconstruction and KL, in nats."""
    logits, mu, logvar = packed.split([64, Z, Z], dim=-1)
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
    return recon, kl


class ELBOLoss(nn.Module):
    """Negative ELBO: reconstruction + beta * KL, averaged over the batch."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, packed: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        recon, kl = loss_terms(packed, x)
        return (recon + self.beta * kl).mean()


elbo = ELBOLoss()

# %% [markdown]
# ## Loss at init: know what to expect
#
# There is no `log C` for this loss, so `rw.check` needs `expected_init_loss`. Work it out: at
# init the decoder's logits are near 0, i.e. every pixel is predicted "on" with probability
# 1/2, which costs `log 2` nats per pixel whatever the pixel is: `64 log 2 = 44.4` nats. The
# code starts near mean 0 and variance 1, so the KL starts near 0.

# %%
expected = 64 * math.log(2)
report = rw.check(make_vae(), (X_fit, X_fit), elbo, task="other", expected_init_loss=expected,
                  output_fn=pack, val=(X_val, X_val), skip=["overfit_one_batch"])
report

# %% [markdown]
# Every check that applies passes: the loss starts where the arithmetic says, the encoder and
# decoder both get gradients, no image leaks into another, and a VAE trained on real inputs
# beats one trained on blank ones on held-out images (so it reads its input).
#
# ## Overfit one batch: switch the regularizer off
#
# The overfit check was skipped above on purpose. Its target for a loss it does not know is 1%
# of the loss at init, which assumes the loss can reach about 0. The ELBO cannot: to tell 10
# images apart the code must carry information, and the KL charges for it. Asked anyway, the
# check fails:

# %%
rw.check(make_vae(), (X_fit, X_fit), elbo, task="other", output_fn=pack,
         checks=["overfit_one_batch"])

# %% [markdown]
# The recipe's order is "overfit first, regularize second". The KL is the regularizer here, so
# the overfit test of the plumbing is the same model with `beta=0`, a plain autoencoder, which
# must be able to memorize 10 binary images to a loss of about 0:

# %%
rw.check(make_vae(), (X_fit, X_fit), ELBOLoss(beta=0.0), task="other", output_fn=pack,
         checks=["overfit_one_batch"])

# %% [markdown]
# ## Train it, watching both terms
#
# A total loss that falls can hide a part that misbehaves; for a VAE the classic one is the KL
# collapsing to 0 (the decoder ignores the code). So the loop logs `recon` and `kl` next to
# `loss`, and the validation figures once per epoch with `rw.evaluate` (eval mode: the code's
# mean, no sampling).

# %%
def per_example(name: str):
    """A metric for rw.evaluate: one value per image."""
    def metric(packed: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        recon, kl = loss_terms(packed, x)
        return {"recon": recon, "kl": kl, "loss": recon + kl}[name]
    return metric


val_metrics = {name: per_example(name) for name in ("loss", "recon", "kl")}
model = make_vae()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(X_fit), batch_size=64, shuffle=True,
    generator=torch.Generator().manual_seed(0),
)
with rw.watch(model, opt, name="vae") as w:
    for epoch in range(20):
        for (xb,) in loader:
            opt.zero_grad()
            recon, kl = loss_terms(pack(model(xb)), xb)
            loss = (recon + kl).mean()
            loss.backward()
            opt.step()
            w.log(loss=loss, recon=recon.mean(), kl=kl.mean())
        ev = rw.evaluate(model, (X_val, X_val), metrics=val_metrics, output_fn=pack)
        w.log(val_loss=ev["loss"][0], val_recon=ev["recon"][0], val_kl=ev["kl"][0])

# %% [markdown]
# The watch's verdict on the loop (checked, like every report in these notebooks):

# %%
w.report

# %% [markdown]
# And the numbers: where each term started and ended. The reconstruction falls far below its
# 44 nats at init while the KL rises from about 0 to a few nats: the code is in use, not
# collapsed.

# %%
hist = w.history
first, last = hist.iloc[0], hist.dropna(subset=["val_loss"]).iloc[-1]
print(f"train, first step: loss {first['loss']:.2f} = recon {first['recon']:.2f} + kl {first['kl']:.2f}")
print(f"validation, end:   loss {last['val_loss']:.2f} = recon {last['val_recon']:.2f} + kl {last['val_kl']:.2f}")
print("final:", rw.evaluate(model, (X_val, X_val), metrics=val_metrics, output_fn=pack))

# %% [markdown]
# ## Look at what it produces
#
# Numbers are not enough: decode the reconstructions and put them next to their inputs. Even
# items are validation inputs, odd items the VAE's reconstruction of the item before (the
# decoder's probabilities, in eval mode).

# %%
model.eval()
with torch.no_grad():
    shown = X_val[:8]
    rebuilt = torch.sigmoid(model(shown)[0])  # (8, 64) pixel probabilities
model.train()
pairs = torch.stack([shown, rebuilt], dim=1).reshape(16, 1, 8, 8)  # input, recon, input, ...
kind = torch.tensor([0, 1] * 8)
rw.decode(pairs, kind="images", labels=kind, classes=["input", "reconstruction"])

# %% [markdown]
# ## What next
#
# `08_bug_hunt` breaks training setups on purpose, one classic bug at a time, and shows which
# tool names each one.
