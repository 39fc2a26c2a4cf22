"""Dev Nag's "GANs in 50 lines of code": a generator maps uniform noise to 1-D samples and a
discriminator judges a whole set of 100 samples through its first four moments (mean, std,
skew, kurtosis), ending in a sigmoid trained with ``nn.BCELoss``. Each iteration does one
discriminator step (real sets labelled 1, detached fake sets labelled 0) and then one
generator step (fake sets labelled 1 through the discriminator), each with its own SGD +
momentum optimizer. For ``rw.check`` the user hands both optimizers and frames the generator
step as the supervised problem ``D(G(z)) -> 1`` on a module that holds G and D."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.optim as optim

from corpus import Setup

SOURCE = (
    "https://github.com/devnag/pytorch-generative-adversarial-networks/blob/master/gan_pytorch.py"
)

# Data params
data_mean = 4
data_stddev = 1.25

# Model params
g_input_size = 1  # Random noise dimension coming into generator, per output vector
g_hidden_size = 16  # Generator complexity
g_output_size = 1  # size of generated output vector
d_input_size = 100  # Minibatch size - cardinality of distributions
d_hidden_size = 16  # Discriminator complexity
d_output_size = 1  # Single dimension for 'real' vs. 'fake' classification
minibatch_size = d_input_size

d_learning_rate = 1e-3
g_learning_rate = 1e-3
sgd_momentum = 0.9

num_epochs = 300


def get_moments(d):
    # Return the first 4 moments of the data provided (one set per row)
    mean = torch.mean(d, dim=-1, keepdim=True)
    diffs = d - mean
    var = torch.mean(torch.pow(diffs, 2.0), dim=-1, keepdim=True)
    std = torch.pow(var, 0.5)
    zscores = diffs / std
    skews = torch.mean(torch.pow(zscores, 3.0), dim=-1, keepdim=True)
    kurtoses = torch.mean(torch.pow(zscores, 4.0), dim=-1, keepdim=True) - 3.0  # excess kurtosis
    return torch.cat((mean, std, skews, kurtoses), dim=-1)


class Generator(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.map1 = nn.Linear(input_size, hidden_size)
        self.map2 = nn.Linear(hidden_size, hidden_size)
        self.map3 = nn.Linear(hidden_size, output_size)
        self.xfer = nn.Tanh()

    def forward(self, x):
        x = self.xfer(self.map1(x))
        x = self.xfer(self.map2(x))
        return self.map3(x)


class Discriminator(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.map1 = nn.Linear(input_size, hidden_size)
        self.map2 = nn.Linear(hidden_size, hidden_size)
        self.map3 = nn.Linear(hidden_size, output_size)
        self.xfer = nn.ELU()

    def forward(self, x):
        x = self.xfer(self.map1(x))
        x = self.xfer(self.map2(x))
        return torch.sigmoid(self.map3(x))


class GAN(nn.Module):
    """G and D in one module: forward(z) is the discriminator's verdict on generated sets."""

    def __init__(self, G, D):
        super().__init__()
        self.G = G
        self.D = D

    def forward(self, gen_input):  # gen_input: (n_sets, minibatch_size, 1)
        fake = self.G(gen_input).squeeze(-1)  # (n_sets, minibatch_size)
        return self.D(get_moments(fake))  # (n_sets, 1)


def make() -> Setup:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    def d_sampler(n):
        return torch.randn(1, n, generator=g) * data_stddev + data_mean

    def gi_sampler(m, n):
        return torch.rand(m, n, generator=g)  # Uniform-dist data into generator, _NOT_ Gaussian

    G = Generator(input_size=g_input_size, hidden_size=g_hidden_size, output_size=g_output_size)
    D = Discriminator(input_size=4, hidden_size=d_hidden_size, output_size=d_output_size)
    model = GAN(G, D)
    criterion = nn.BCELoss()  # Binary cross entropy: http://pytorch.org/docs/nn.html#bceloss
    d_optimizer = optim.SGD(D.parameters(), lr=d_learning_rate, momentum=sgd_momentum)
    g_optimizer = optim.SGD(G.parameters(), lr=g_learning_rate, momentum=sgd_momentum)

    def loop(w):
        for epoch in range(num_epochs):
            # 1. Train D on real+fake
            D.zero_grad()
            #  1A: Train D on real
            d_real_data = d_sampler(d_input_size)
            d_real_decision = D(get_moments(d_real_data))
            d_real_error = criterion(d_real_decision, torch.ones([1, 1]))  # ones = true
            d_real_error.backward()  # compute/store gradients, but don't change params
            #  1B: Train D on fake
            d_gen_input = gi_sampler(minibatch_size, g_input_size)
            d_fake_data = G(d_gen_input).detach()  # detach to avoid training G on these labels
            d_fake_decision = D(get_moments(d_fake_data.t()))
            d_fake_error = criterion(d_fake_decision, torch.zeros([1, 1]))  # zeros = fake
            d_fake_error.backward()
            d_optimizer.step()  # Only optimizes D's parameters; changes based on stored gradients

            # 2. Train G on D's response (but DO NOT train D on these labels)
            G.zero_grad()
            gen_input = gi_sampler(minibatch_size, g_input_size)
            g_fake_data = G(gen_input)
            dg_fake_decision = D(get_moments(g_fake_data.t()))
            g_error = criterion(
                dg_fake_decision, torch.ones([1, 1])
            )  # Train G to pretend it's genuine
            g_error.backward()
            g_optimizer.step()  # Only optimizes G's parameters
            w.log(loss=g_error, d_loss=d_real_error + d_fake_error)

    # the generator's objective as (inputs, targets): 256 noise sets of 100 draws -> "real"
    z = torch.rand(256, minibatch_size, g_input_size, generator=torch.Generator().manual_seed(1))
    return Setup(
        model=model,
        data=(z, torch.ones(256, 1)),
        loss_fn=criterion,
        optimizer=[g_optimizer, d_optimizer],
        loop=loop,
    )
