main :: IO ()
main = do
  let xs = [] :: [Int]
  print (head xs)
