print("ycli")
