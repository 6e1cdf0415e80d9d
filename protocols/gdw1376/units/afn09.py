"""AFN 09H terminal configuration (请求终端配置及信息), Std-2013 §5.9."""
