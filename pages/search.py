import streamlit as st

st.title("Search")
st.info("Coming in the dashboard issue.")
