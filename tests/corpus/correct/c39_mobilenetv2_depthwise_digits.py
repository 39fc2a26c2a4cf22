"""torchvision's MobileNetV2 scaled down to the 8x8 digits: ``Conv2dNormActivation`` stem (conv
without bias + BatchNorm + ReLU6), ``InvertedResidual`` blocks (1x1 expansion, 3x3 depthwise conv
with ``groups=hidden_dim``, linear 1x1 projection + BatchNorm, residual when stride 1 and channels
match), a 1x1 last conv, global average pooling, dropout 0.2 and a Linear classifier, with
torchvision's init (kaiming_normal fan_out for convs, BN weight 1 / bias 0, Linear N(0, 0.01)).
SGD with momentum 0.9 and weight decay 4e-5 with a per-epoch ``StepLR`` as in torchvision's
MobileNetV2 recipe."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from corpus import Setup

SOURCE = "https://github.com/pytorch/vision/blob/main/torchvision/models/mobilenetv2.py"


def conv_bn_act(inp, oup, kernel_size=3, stride=1, groups=1):
    padding = (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv2d(inp, oup, kernel_size, stride, padding, groups=groups, bias=False),
        nn.BatchNorm2d(oup),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(inp, hidden_dim, kernel_size=1))
        layers.extend(
            [
                conv_bn_act(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),  # dw
                nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),  # pw-linear
                nn.BatchNorm2d(oup),
            ]
        )
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=10, dropout=0.2):
        super().__init__()
        inverted_residual_setting = [[1, 16, 1, 1], [4, 24, 2, 2], [4, 32, 1, 2]]  # t, c, n, s
        input_channel, last_channel = 16, 64
        features = [conv_bn_act(1, input_channel, stride=1)]
        for t, c, n, s in inverted_residual_setting:
            for i in range(n):
                features.append(InvertedResidual(input_channel, c, s if i == 0 else 1, t))
                input_channel = c
        features.append(conv_bn_act(input_channel, last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(last_channel, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


def make() -> Setup:
    torch.manual_seed(0)
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    x = (x - x[:1400].mean()) / x[:1400].std()
    y = torch.tensor(d.target)
    train_loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=128)
    model = MobileNetV2()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5)
    lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.9)

    def loop(w):
        for _epoch in range(4):
            model.train()
            for image, target in train_loader:
                output = model(image)
                loss = criterion(output, target)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                w.log(loss=loss)
            lr_scheduler.step()
            model.eval()
            with torch.inference_mode():
                losses = [criterion(model(xb), yb).item() for xb, yb in val_loader]
            w.log(val_loss=sum(losses) / len(losses))

    return Setup(
        model=model,
        data=train_loader,
        loss_fn=criterion,
        optimizer=optimizer,
        val=val_loader,
        loop=loop,
    )
