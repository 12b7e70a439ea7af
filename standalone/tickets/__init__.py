"""The ticket domain: commands, buttons, forms and the lifecycle behind them."""
