"""The "simple layer" example of IBM's aihwkit, with a plain ``nn.Linear(4, 2)`` instead of the
analog layer: full-batch regression of 2 outputs from 4 inputs with SGD and ``mse_loss``, a
loss printed every epoch, and no ``opt.zero_grad()`` in the loop. The issue shows the symptom:
gradients accumulate across iterations, so the loss first decreases and then climbs back up
as the summed gradient overshoots, with no error. The fix adds ``opt.zero_grad()`` each
iteration. (The example fits 2 hand-written points; here 32 points from a fixed linear map, so
that the check has examples to split.)"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import Linear
from torch.nn.functional import mse_loss
from torch.optim import SGD

from corpus import Expect, Setup

SOURCE = "https://github.com/IBM/aihwkit/issues/446"
EXPECT = Expect("zero_grad_forgotten", says=r"zero_grad")


def make(fixed: bool) -> Setup:
    torch.manual_seed(446)
    # Prepare the datasets (input and expected output).
    x = torch.rand(32, 4)
    w_true = Tensor([[0.8, -0.3, 0.5, 0.2], [0.1, 0.6, -0.4, 0.3]])
    y = x @ w_true.T + Tensor([0.4, 0.1])

    # Define a single-layer network.
    model = Linear(4, 2)

    # Define the optimizer and the learning rate.
    opt = SGD(model.parameters(), lr=0.1)

    def loop(w):
        for _epoch in range(150):
            if fixed:
                opt.zero_grad()
            # Add the training Tensor to the model (input).
            pred = model(x)
            # Add the expected output Tensor.
            loss = mse_loss(pred, y)
            # Run training (backward propagation).
            loss.backward()

            opt.step()
            w.log(loss=loss)

    return Setup(model=model, data=(x, y), loss_fn=mse_loss, optimizer=opt, loop=loop)
